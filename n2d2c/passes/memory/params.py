"""Read memory options from an N2D2-style ``-export-parameters`` file.

Format: one ``Key=Value`` per line; blank lines and lines starting with ``#``
or ``;`` are ignored; spaces around key and value are stripped.  Booleans
accept ``1/0``, ``true/false``, ``yes/no`` (any case).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ...errors import InputError, ParseError, SourceLocation
from ...util.flags import boolean_word
from ...util.inputs import note_input
from .options import MemoryOptions
from .strategies import STRATEGIES

_KINDS = {"IncludeInputInBuffer": "bool", "OptimizeBufferMemory": "bool",
          "OptimizeNoBranchConcat": "bool", "MemoryAlignment": "int",
          "MemoryManagerStrategy": "strategy"}
# n2d2c extension (not an N2D2 key): CP-SAT budget of the "exact" strategy.
_EXTRA = {"MemoryExactTimeLimit": "exact_time_limit"}

Params = dict[str, tuple[str, SourceLocation]]


def parse_params(text: str, filename: str = "<params>") -> Params:
    """``Key -> (value, location of the value)``; syntax errors raise ParseError."""
    params: Params = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        indent = len(line) - len(line.lstrip())
        if "=" not in stripped:
            raise ParseError(f"expected Key=Value, got {stripped!r}",
                             location=SourceLocation(filename, number, indent + 1))
        key, value = stripped.split("=", 1)
        key = key.strip()
        if not key:
            raise ParseError("missing key before '='",
                             location=SourceLocation(filename, number, indent + 1))
        col = line.index("=") + 2 + (len(value) - len(value.lstrip()))
        if key in params:
            raise ParseError(f"duplicate key {key!r} (first set at {params[key][1]})",
                             location=SourceLocation(filename, number, indent + 1))
        params[key] = (value.strip(), SourceLocation(filename, number, col))
    return params


def options_from_params(params: Params, *, strict: bool = True,
                        base: MemoryOptions | None = None) -> MemoryOptions:
    """Apply the memory keys of ``params`` on top of ``base`` (defaults).

    With ``strict`` an unknown key is an error; pass ``strict=False`` when the
    file also holds keys meant for other parts of the export.
    """
    changes: dict[str, object] = {}
    for key, (value, where) in params.items():
        if key in _EXTRA:
            changes[_EXTRA[key]] = _number(key, value, where)
        elif key in _KINDS:
            changes[key] = _convert(key, _KINDS[key], value, where)
        elif strict:
            raise InputError(f"unknown memory parameter {key!r}", location=where,
                             hint="known: " + ", ".join(list(_KINDS) + list(_EXTRA)))
    return dataclasses.replace(base or MemoryOptions(), **changes)


def read_memory_options(path: str | Path, *, strict: bool = True) -> MemoryOptions:
    """Parse the file at ``path`` into MemoryOptions."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        note_input(path)
    except OSError as err:
        raise InputError(f"cannot read parameters file: {err.strerror}",
                         location=str(path)) from err
    return options_from_params(parse_params(text, str(path)), strict=strict)


def _convert(key: str, kind: str, value: str, where: SourceLocation) -> object:
    if kind == "bool":
        flag = boolean_word(value)
        if flag is None:
            raise InputError(f"{key} expects 0 or 1, got {value!r}", location=where)
        return flag
    if kind == "int":
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise InputError(f"{key} expects a positive integer, got {value!r}",
                             location=where)
        return int(value)
    if value not in STRATEGIES:
        raise InputError(f"unknown {key} {value!r}", location=where,
                         hint="one of: " + ", ".join(STRATEGIES))
    return value


def _number(key: str, value: str, where: SourceLocation) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0 or number == float("inf"):
        raise InputError(f"{key} expects a positive number of seconds, got {value!r}",
                         location=where)
    return number
