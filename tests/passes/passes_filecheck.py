"""FileCheck for pass tests, through the `filecheck` package's Python API.

A test file (tests/passes/ir/*.ir) holds cases separated by ``// -----``; each
case is textual IR followed by ``// CHECK...`` lines, and the file's first
``// PIPELINE: ...`` line says what to run.  The IR grammar ignores ``//``
comments, so a case parses as it stands.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from filecheck.finput import FInput
from filecheck.matcher import Matcher
from filecheck.options import Options
from filecheck.parser import Parser, pattern_for_opts

_PIPELINE = re.compile(r"^//\s*PIPELINE:\s*(.*)$", re.M)
_SEPARATOR = re.compile(r"^//\s*-----\s*$", re.M)


@dataclass
class Case:
    file: Path
    index: int
    line: int       # first line of the case in its file
    pipeline: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.file.stem}:{self.index}"


def read_cases(path: Path) -> list[Case]:
    """The cases of ``path``; a case's own ``// PIPELINE:`` overrides the file's first."""
    text = path.read_text()
    m = _PIPELINE.search(text)
    if not m:
        raise ValueError(f"{path}: no '// PIPELINE:' line")
    cases, line = [], 1
    for index, chunk in enumerate(_SEPARATOR.split(text)):
        own = _PIPELINE.search(chunk)
        pipeline = (own or m).group(1).strip()
        # Pad with blank lines so that filecheck reports line numbers of the file.
        cases.append(Case(path, index, line, pipeline, "\n" * (line - 1) + chunk))
        line += chunk.count("\n")
    return cases


def filecheck(output: str, checks: str, name: str = "<checks>") -> str | None:
    """Match ``output`` against the CHECK lines in ``checks``; the error text or None."""
    opts = Options(match_filename=name, dump_input="never")
    parser = Parser(opts, io.StringIO(checks), *pattern_for_opts(opts))
    matcher = Matcher(opts, FInput("<pass output>", output), parser)
    matcher.stderr = io.StringIO()
    code = matcher.run()
    return None if code == 0 else matcher.stderr.getvalue() or f"filecheck exit code {code}"
