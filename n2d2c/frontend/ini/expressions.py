"""Parsing N2D2 ``$(...)`` arithmetic (evaluation is in ``arithmetic.py``).

Expressions are parsed with the lark grammar in ``expr.lark`` into small tuple
trees.  Nothing is ever handed to Python's ``eval``/``exec``: names can only
be the whitelisted functions below, and the grammar has no attribute access
or subscripts, so ``__import__('os')`` and friends are rejected at load time
as "not an allowed function".
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Union

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

Scalar = Union[int, float, str]
Node = tuple  # (kind, pos, *payload); pos is the offset in the expression text

_PARSER = Lark((Path(__file__).with_name("expr.lark")).read_text(), parser="lalr",
               start="start", propagate_positions=False, maybe_placeholders=False)

_TERMINAL_TEXT = {
    "NUMBER": "a number", "NAME": "a function name", "VAR": "a ${VARIABLE}",
    "REF": "a [section]Property reference", "STRING": "a quoted string",
    "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*', '/', '//' or '%'",
    "POW": "'**'", "$END": "end of expression",
}
for _term in _PARSER.terminals:
    if _term.name not in _TERMINAL_TEXT and _term.pattern.type == "str":
        _TERMINAL_TEXT[_term.name] = repr(_term.pattern.value)


class ExprSyntaxError(Exception):
    """Syntax error at ``pos`` (offset in the expression text)."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _expected(names) -> str:
    words = sorted({_TERMINAL_TEXT.get(n, n) for n in names if not n.startswith("__IGNORE")})
    if not words:
        return ""
    if len(words) > 6:
        words = words[:6] + ["..."]
    return "; expected " + ", ".join(words)


def _bad_token_message(exc: UnexpectedInput, text: str) -> tuple[str, int]:
    if isinstance(exc, UnexpectedEOF):
        return "unexpected end of expression" + _expected(exc.expected), len(text)
    if isinstance(exc, UnexpectedToken):
        pos = exc.token.start_pos if exc.token.start_pos is not None else len(text)
        if exc.token.type == "$END":
            return "unexpected end of expression" + _expected(exc.expected), len(text)
        return f"unexpected {exc.token.value!r}" + _expected(exc.expected), pos
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        return f"unexpected character {text[pos]!r}" + _expected(exc.allowed), pos
    return str(exc), 0


FUNCTIONS: dict[str, tuple[int, int]] = {
    # name: (min args, max args)
    "min": (1, 64), "max": (1, 64), "floor": (1, 1), "ceil": (1, 1),
    "round": (1, 2), "abs": (1, 1), "sqrt": (1, 1), "int": (1, 1), "float": (1, 1),
}


def _convert(tree, text: str) -> Node:
    """Lark tree -> tuple node, rejecting names that are not allowed functions."""
    if isinstance(tree, Token):  # only reached for bare terminals
        raise ExprSyntaxError(f"unexpected {tree.value!r}", tree.start_pos or 0)
    kind, kids = tree.data, tree.children
    if kind == "number":
        tok = kids[0]
        try:
            number = int(tok.value) if tok.value.isdigit() else float(tok.value)
        except ValueError:  # beyond Python's int-from-text digit limit
            raise ExprSyntaxError(f"number literal of {len(tok.value)} digits is too long",
                                  tok.start_pos) from None
        return ("num", tok.start_pos, number)
    if kind == "string":
        tok = kids[0]
        return ("num", tok.start_pos, tok.value[1:-1])
    if kind in ("true", "false"):
        return ("num", 0, kind == "true")
    if kind == "var":
        tok = kids[0]
        return ("var", tok.start_pos, tok.value[2:-1])
    if kind == "ref":
        tok = kids[0]
        close = tok.value.index("]")
        return ("ref", tok.start_pos, tok.value[1:close], tok.value[close + 1:])
    if kind == "name":
        tok = kids[0]
        if tok.value in FUNCTIONS:
            raise ExprSyntaxError(f"function {tok.value!r} must be called: expected '('",
                                  tok.start_pos + len(tok.value))
        raise ExprSyntaxError(
            f"unknown name {tok.value!r}: only numbers, ${{VARIABLES}}, [section]Property "
            f"references and the functions {', '.join(sorted(FUNCTIONS))} are allowed",
            tok.start_pos)
    if kind == "call":
        tok, args = kids[0], [a for a in kids[1:] if a is not None]
        if tok.value not in FUNCTIONS:
            raise ExprSyntaxError(
                f"{tok.value!r} is not an allowed function (allowed: "
                f"{', '.join(sorted(FUNCTIONS))})", tok.start_pos)
        low, high = FUNCTIONS[tok.value]
        if not low <= len(args) <= high:
            raise ExprSyntaxError(
                f"{tok.value}() takes {low if low == high else f'{low} to {high}'} "
                f"argument(s), got {len(args)}", tok.start_pos)
        return ("call", tok.start_pos, tok.value, tuple(_convert(a, text) for a in args))
    if kind == "binop":
        left, op, right = kids
        return ("bin", op.start_pos, op.value, _convert(left, text), _convert(right, text))
    if kind == "pow":
        left, op, right = kids
        return ("bin", op.start_pos, "**", _convert(left, text), _convert(right, text))
    if kind == "unary":
        op, operand = kids
        return ("neg" if op.value == "-" else "pos", op.start_pos, _convert(operand, text))
    if kind == "compare":
        operands = tuple(_convert(k, text) for k in kids[0::2])
        ops = tuple(k.value for k in kids[1::2])
        return ("cmp", kids[1].start_pos, ops, operands)
    if kind in ("and_", "or_"):
        return (kind[:-1], 0, _convert(kids[0], text), _convert(kids[1], text))
    if kind == "not_":
        return ("not", 0, _convert(kids[0], text))
    if kind == "cond":
        then, cond, other = (_convert(k, text) for k in kids)
        return ("cond", 0, then, cond, other)
    raise ExprSyntaxError(f"unsupported construct {kind!r}", 0)  # pragma: no cover


@functools.lru_cache(maxsize=4096)
def parse_expression(text: str) -> Node:
    """Parse the inside of ``$(...)``; raises ExprSyntaxError (offsets in ``text``)."""
    if not text.strip():
        raise ExprSyntaxError("empty expression: expected a value inside '$()'", 0)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        message, pos = _bad_token_message(exc, text)
        raise ExprSyntaxError(message, pos) from None
    except RecursionError:
        raise ExprSyntaxError("expression is nested too deeply", 0) from None
    try:
        return _convert(tree, text)
    except RecursionError:
        raise ExprSyntaxError("expression is nested too deeply", 0) from None
