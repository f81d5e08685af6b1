"""Property values: raw text split into literal text, ``${VAR}``, ``$(...)``
and ``[section]Property`` pieces.

Values are scanned (and their expressions syntax-checked) when the file is
loaded, so a malformed value is reported at load time with its exact
file:line:col.  They are *evaluated* only on demand (see ``evaluator.py``),
because references may need values that only the network lowering knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Union

from ...errors import ParseError, SourceLocation
from .expressions import ExprSyntaxError, Node, parse_expression
from .limits import IniLimits, limit_error

Locator = Callable[[int], SourceLocation]

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# "[section]Property": the property must start right after ']' with a letter
# or '_' (N2D2's derived values such as [conv1]_OutputsWidth start with '_').
_REF = re.compile(r"\[([^\[\]\s]+)\]([A-Za-z_][A-Za-z0-9_.]*)")


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class VarRef:
    name: str
    location: SourceLocation


@dataclass(frozen=True)
class PropRef:
    section: str
    prop: str
    location: SourceLocation


@dataclass(frozen=True)
class Expression:
    text: str                 # inside of ``$(...)``
    tree: Node = field(repr=False, compare=False)
    location: SourceLocation  # of the ``$``
    locate: Locator = field(repr=False, compare=False)  # offsets in ``text`` -> source


Segment = Union[Literal, VarRef, PropRef, Expression]


@dataclass(frozen=True)
class Value:
    """A property value as written, with where it was written.

    ``text`` is the value after trimming, comment removal and quote removal;
    ``segments`` is its scanned form.  Use ``IniDocument.evaluate`` to get the
    value with variables, references and expressions computed.
    """

    text: str
    location: SourceLocation
    segments: tuple[Segment, ...] = field(repr=False, compare=False)
    quoted: bool = False

    @property
    def is_literal(self) -> bool:
        """True when nothing needs evaluating (plain text, number, list...)."""
        return all(isinstance(s, Literal) for s in self.segments)

    def __str__(self) -> str:
        return self.text


def _closing_paren(text: str, start: int) -> int:
    """Index of the ')' closing the '(' at ``start - 1``, or -1."""
    depth, index = 1, start
    while index < len(text):
        ch = text[index]
        if ch in "'\"":
            close = text.find(ch, index + 1)
            if close < 0:
                return -1
            index = close
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def scan_value(text: str, locate: Locator, limits: IniLimits, *,
               quoted: bool = False) -> Value:
    """Split ``text`` into segments; ``locate(i)`` gives the source of ``text[i]``."""
    segments: list[Segment] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        ch = text[index]
        if ch == "$" and text.startswith("${", index):
            close = text.find("}", index + 2)
            if close < 0:
                raise ParseError(f"unterminated variable {text[index:index + 20]!r}: "
                                 f"expected '}}'", location=locate(index))
            name = text[index + 2:close]
            if not _VAR_NAME.fullmatch(name):
                raise ParseError(f"bad variable name {name!r} in '${{...}}': expected "
                                 f"letters, digits and '_'", location=locate(index + 2))
            _flush(literal, segments)
            segments.append(VarRef(name, locate(index)))
            index = close + 1
            continue
        if ch == "$" and text.startswith("$(", index):
            close = _closing_paren(text, index + 2)
            if close < 0:
                raise ParseError(f"unterminated expression {text[index:index + 30]!r}: "
                                 f"expected ')'", location=locate(index))
            _flush(literal, segments)
            segments.append(_expression(text, index, close, locate, limits))
            index = close + 1
            continue
        if ch == "[":
            match = _REF.match(text, index)
            if match:
                _flush(literal, segments)
                segments.append(PropRef(match.group(1), match.group(2), locate(index)))
                index = match.end()
                continue
        literal.append(ch)
        index += 1
    _flush(literal, segments)
    return Value(text, locate(0), tuple(segments), quoted)


def _flush(literal: list[str], segments: list[Segment]) -> None:
    if literal:
        segments.append(Literal("".join(literal)))
        literal.clear()


def _expression(text: str, start: int, close: int, locate: Locator,
                limits: IniLimits) -> Expression:
    inner_start = start + 2
    inner = text[inner_start:close]
    if len(inner) > limits.max_expression_length:
        raise limit_error("max_expression_length", f"expression of {len(inner)} characters",
                          limits.max_expression_length, locate(start))
    try:
        tree = parse_expression(inner)
    except ExprSyntaxError as exc:
        raise ParseError(f"bad expression $({_clip(inner)}): {exc.message}",
                         location=locate(inner_start + exc.pos)) from None
    return Expression(inner, tree, locate(start), lambda pos: locate(inner_start + pos))


def _clip(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[:size] + "..."
