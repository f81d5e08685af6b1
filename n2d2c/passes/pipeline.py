"""Pass pipelines: parse ``"fuse-bn,equalize-weights{max-iter=20}"``, print, run.

    Pipeline.parse("fuse-bn,remove-dropout,equalize-weights{max-iter=20}")
    Pipeline([FuseBatchNorm(), EqualizeWeights(max_iter=20)])
    str(pipeline)        # canonical text: only options that differ from the default

Option values are integers, floats (``1e-3``, ``inf``, ``nan``), ``true``/``false``,
bare words or "quoted strings", and ``[lists, of, values]`` (grammar in pipeline.lark).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import sys
import time
import typing
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from typing import IO, Sequence

import lark

from ..errors import InternalError, N2D2CError, UsageError, VerificationError
from ..ir import Graph, print_graph, verify
from .base import Pass, PassResult, coerce_option, field_name
from .registry import get_pass, suggest


@functools.cache
def _parser() -> lark.Lark:
    grammar = importlib_resources.files(__package__).joinpath("pipeline.lark").read_text()
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=True)


# -- printing -----------------------------------------------------------------------
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_KEYWORDS = {"true", "false", "inf", "nan"}


def format_option_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if value != value else repr(value)
    if isinstance(value, str):
        return value if _BARE_WORD.match(value) and value not in _KEYWORDS else json.dumps(value)
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(format_option_value(v) for v in value) + "]"
    raise TypeError(f"cannot print option value {value!r}")


def format_pass(p: Pass) -> str:
    options = p.non_default_options()
    if not options:
        return p.name
    return p.name + "{" + ",".join(f"{k}={format_option_value(v)}"
                                   for k, v in options.items()) + "}"


# -- parsing --------------------------------------------------------------------------
def _syntax_error(text: str, column: int, what: str) -> UsageError:
    caret = " " * (column - 1) + "^"
    return UsageError(f"syntax error in pass pipeline at column {column}: {what}\n"
                      f"    {text}\n    {caret}",
                      hint="a pipeline is 'pass,pass{option=value,...},...', "
                           "e.g. 'fuse-bn,equalize-weights{max-iter=20}'")


def _value(tree):
    if isinstance(tree, lark.Tree) and tree.data == "list":
        return [_value(c) for c in tree.children if c is not None]
    token = tree.children[0]
    text = str(token)
    kind = tree.data
    if kind == "number":
        return float(text) if any(c in text for c in ".eE") else int(text)
    if kind == "special":
        return float(text)
    if kind in ("true", "false"):
        return kind == "true"
    if kind == "string":
        return json.loads(text)
    return text


def _build_pass(text: str, tree) -> Pass:
    name_token = tree.children[0]
    name = str(name_token)
    try:
        cls = get_pass(name)
    except UsageError as err:
        err.message += f" (column {name_token.column})"
        raise
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    options_tree = tree.children[1]
    kwargs = {}
    for opt in (c for c in (options_tree.children if options_tree else []) if c is not None):
        key_token, value_tree = opt.children
        key = str(key_token)
        attr = field_name(key)
        if attr not in fields or "_" in key:
            known = [o.name for o in cls.options()]
            raise UsageError(f"pass '{name}' has no option '{key}' (column {key_token.column})",
                             hint=suggest(key, known, f"options of '{name}'"))
        if attr in kwargs:
            raise UsageError(f"option '{key}' of pass '{name}' is given twice "
                             f"(column {key_token.column})")
        try:
            kwargs[attr] = coerce_option(name, key, _value(value_tree), hints[attr])
        except UsageError as exc:
            exc.message += f" (column {key_token.column})"
            raise
    try:
        return cls(**kwargs)
    except UsageError as exc:  # a value the pass itself rejects (e.g. max-iter=0)
        exc.message += f" (column {name_token.column})"
        raise


def parse_pipeline(text: str) -> list[Pass]:
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedCharacters as exc:
        raise _syntax_error(text, exc.column, f"unexpected character {text[exc.pos_in_stream]!r}") \
            from None
    except lark.UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise _syntax_error(text, len(text) + 1, "unexpected end of pipeline") from None
        raise _syntax_error(text, exc.column, f"unexpected {str(exc.token)!r}") from None
    except lark.UnexpectedInput as exc:
        raise _syntax_error(text, max(exc.column, 1), "unexpected input") from None
    return [_build_pass(text, c) for c in tree.children if c is not None]


# -- running --------------------------------------------------------------------------
@dataclass
class PassRun:
    """One pass of a pipeline run: what it reported and how long it took."""

    pass_: Pass
    result: PassResult
    seconds: float


@dataclass
class PipelineReport:
    runs: list[PassRun] = field(default_factory=list)

    def result(self, name: str) -> PassResult | None:
        """The result of the last run of pass ``name``."""
        for run in reversed(self.runs):
            if run.pass_.name == name:
                return run.result
        return None

    def timing_table(self) -> str:
        total = sum(r.seconds for r in self.runs)
        width = max([len(str(r.pass_)) for r in self.runs] + [5])
        lines = [f"===-- pass execution timing (total {total * 1e3:.3f} ms) --===",
                 f"  {'ms':>10}  {'%':>6}  pass"]
        for r in self.runs:
            share = 100.0 * r.seconds / total if total > 0 else 0.0
            lines.append(f"  {r.seconds * 1e3:10.3f}  {share:5.1f}%  {str(r.pass_):<{width}}")
        lines.append(f"  {total * 1e3:10.3f}  {100.0:5.1f}%  total")
        return "\n".join(lines) + "\n"


class Pipeline:
    """An ordered list of configured passes."""

    def __init__(self, passes: Sequence[Pass] = ()):
        passes = list(passes)
        for p in passes:
            if not isinstance(p, Pass):
                raise UsageError(f"a pipeline holds passes (instances of Pass), got {p!r}")
        self.passes = passes

    @classmethod
    def parse(cls, text: str) -> "Pipeline":
        return cls(parse_pipeline(text))

    def __str__(self) -> str:
        return ",".join(format_pass(p) for p in self.passes)

    def __repr__(self) -> str:
        return f"Pipeline.parse({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Pipeline) and self.passes == other.passes

    def __iter__(self):
        return iter(self.passes)

    def __len__(self) -> int:
        return len(self.passes)

    def run(self, graph: Graph, *, verify_each: bool = True, print_ir_after_all: bool = False,
            print_ir_after: Sequence[str] = (), time_passes: bool = False,
            out: IO[str] | None = None) -> PipelineReport:
        """Run every pass on ``graph`` in place.

        ``verify_each`` checks the graph before the first pass and after each one
        and names the pass that broke it.  IR dumps and the timing table go to
        ``out`` (default stderr).
        """
        out = out if out is not None else sys.stderr
        dump_after = set(self._check_dump_names(print_ir_after))
        if verify_each:
            try:
                verify(graph)
            except VerificationError as exc:
                raise VerificationError(f"the graph is invalid before the pipeline ran: "
                                        f"{exc.message}", location=exc.location) from None
        report = PipelineReport()
        for index, p in enumerate(self.passes, 1):
            start = time.perf_counter()
            result = _apply(p, graph)
            report.runs.append(PassRun(p, result, time.perf_counter() - start))
            if verify_each:
                _verify_after(p, graph)
            if print_ir_after_all or p.name in dump_after:
                out.write(f"// ----- IR after {format_pass(p)} "
                          f"(pass {index} of {len(self.passes)}) -----\n")
                out.write(print_graph(graph))
        if time_passes:
            out.write(report.timing_table())
        return report

    def _check_dump_names(self, names: Sequence[str]) -> list[str]:
        names = [names] if isinstance(names, str) else list(names)
        for name in names:
            get_pass(name)
            if name not in {p.name for p in self.passes}:
                raise UsageError(f"cannot print the IR after pass '{name}': it is not in the "
                                 f"pipeline '{self}'")
        return names


def _apply(p: Pass, graph: Graph) -> PassResult:
    try:
        result = p.apply(graph)
    except N2D2CError:
        raise
    except Exception as exc:
        raise InternalError(f"pass '{format_pass(p)}' crashed: {type(exc).__name__}: {exc}",
                            hint="re-run with --debug for the traceback") from exc
    return result if result is not None else PassResult()


def _verify_after(p: Pass, graph: Graph) -> None:
    try:
        verify(graph)
    except VerificationError as exc:
        # A built-in pass that breaks the IR is our bug; a user's loaded pass is theirs.
        builtin = type(p).__module__.startswith("n2d2c.")
        kind = InternalError if builtin else VerificationError
        raise kind(f"pass '{format_pass(p)}' produced an invalid graph: {exc.message}",
                   location=exc.location,
                   hint=f"print the graph with --print-ir-after={p.name} --no-verify-each") \
            from None
