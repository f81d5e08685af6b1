"""Evaluating parsed ``$(...)`` expressions (see ``expressions.py``).

Values are ``int``, ``float`` or ``str`` (``bool`` from comparisons behaves as
an int, as in Python).  Strings can be compared and selected with
``x if c else y`` but take part in no arithmetic, so an expression cannot
build a huge string; integer results are capped at ``MAX_INT_BITS`` for the
same reason, and ``**`` is checked before it is computed.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Callable, Protocol

from ...errors import InputError, ResourceLimitError, SourceLocation
from .expressions import Node, Scalar

MAX_INT_BITS = 4096


class ExprEnv(Protocol):
    """What the evaluator needs from the document."""

    def variable(self, name: str, location: SourceLocation) -> Scalar: ...
    def reference(self, section: str, prop: str, location: SourceLocation) -> Scalar: ...


_NUMBER_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


def as_number(value: Scalar) -> Scalar:
    """Numbers stay; numeric-looking strings ("160", "0.5") become numbers."""
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_RE.fullmatch(text):
            try:
                return int(text) if text.lstrip("+-").isdigit() else float(text)
            except ValueError:  # more digits than Python converts: leave it as text
                return value
    return value


def _number(value: Scalar, what: str, loc: SourceLocation) -> int | float:
    value = as_number(value)
    if isinstance(value, str):
        raise InputError(f"{what} needs a number, got the text {value!r}", location=loc)
    return value


def _check_int(value, loc: SourceLocation):
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ResourceLimitError(
            f"integer result with {value.bit_length()} bits is larger than the "
            f"{MAX_INT_BITS}-bit limit of INI arithmetic", location=loc)
    return value


def _power(base, exp, loc: SourceLocation):
    if isinstance(base, int) and isinstance(exp, int) and exp > 0:
        if max(base.bit_length(), 1) * exp > MAX_INT_BITS and abs(base) > 1:
            raise ResourceLimitError(
                f"{base} ** {exp} would exceed the {MAX_INT_BITS}-bit limit of INI arithmetic",
                location=loc)
    if base == 0 and exp < 0:
        raise InputError("0 cannot be raised to a negative power", location=loc)
    result = base ** exp
    if isinstance(result, complex):
        raise InputError(f"{base} ** {exp} is not a real number", location=loc)
    return result


_BINARY: dict[str, Callable] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod,
}
_COMPARE: dict[str, Callable] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def _call(name: str, args: list[Scalar], loc: SourceLocation) -> Scalar:
    nums = [_number(a, f"{name}()", loc) for a in args]
    if name == "min":
        return min(nums)
    if name == "max":
        return max(nums)
    if name == "floor":
        return math.floor(nums[0])
    if name == "ceil":
        return math.ceil(nums[0])
    if name == "round":
        if len(nums) == 2 and not isinstance(nums[1], int):
            raise InputError("round() digits must be an integer", location=loc)
        return round(nums[0], *nums[1:]) if len(nums) == 2 else round(nums[0])
    if name == "abs":
        return abs(nums[0])
    if name == "sqrt":
        if nums[0] < 0:
            raise InputError(f"sqrt() of a negative number ({nums[0]})", location=loc)
        return math.sqrt(nums[0])
    if name == "int":
        return int(nums[0])
    if name == "float":
        return float(nums[0])
    raise InputError(f"unknown function {name!r}", location=loc)  # pragma: no cover


def evaluate_expression(node: Node, env: ExprEnv,
                        locate: Callable[[int], SourceLocation]) -> Scalar:
    """Evaluate a parsed expression; ``locate`` maps node offsets to source."""
    try:
        return _eval(node, env, locate)
    except RecursionError:
        raise ResourceLimitError("expression is nested too deeply to evaluate",
                                 location=locate(node[1])) from None


def _eval(node: Node, env: ExprEnv, locate) -> Scalar:
    kind = node[0]
    if kind == "num":
        return node[2]
    if kind == "var":
        return as_number(env.variable(node[2], locate(node[1])))
    if kind == "ref":
        return as_number(env.reference(node[2], node[3], locate(node[1])))
    if kind == "bin":
        op = node[2]
        loc = locate(node[1])
        left = _number(_eval(node[3], env, locate), f"operator {op!r}", loc)
        right = _number(_eval(node[4], env, locate), f"operator {op!r}", loc)
        try:
            if op == "**":
                return _check_int(_power(left, right, loc), loc)
            return _check_int(_BINARY[op](left, right), loc)
        except ZeroDivisionError:
            raise InputError(f"division by zero in '{op}'", location=loc) from None
        except OverflowError:
            raise InputError(f"numeric overflow in '{op}'", location=loc) from None
    if kind == "neg":
        return -_number(_eval(node[2], env, locate), "unary '-'", locate(node[1]))
    if kind == "pos":
        return +_number(_eval(node[2], env, locate), "unary '+'", locate(node[1]))
    if kind == "cmp":
        ops, operands = node[2], node[3]
        left = _eval(operands[0], env, locate)
        for op, operand in zip(ops, operands[1:]):
            right = _eval(operand, env, locate)
            if op in ("==", "!="):
                ok = _COMPARE[op](left, right)
            else:
                loc = locate(node[1])
                ok = _COMPARE[op](_number(left, f"comparison {op!r}", loc),
                                  _number(right, f"comparison {op!r}", loc))
            if not ok:
                return False
            left = right
        return True
    if kind == "and":
        left = _eval(node[2], env, locate)
        return _eval(node[3], env, locate) if left else left
    if kind == "or":
        left = _eval(node[2], env, locate)
        return left if left else _eval(node[3], env, locate)
    if kind == "not":
        return not _eval(node[2], env, locate)
    if kind == "cond":
        return _eval(node[2], env, locate) if _eval(node[3], env, locate) \
            else _eval(node[4], env, locate)
    if kind == "call":
        loc = locate(node[1])
        args = [_eval(a, env, locate) for a in node[3]]
        try:
            return _check_int(_call(node[2], args, loc), loc)
        except OverflowError:
            raise InputError(f"numeric overflow in {node[2]}()", location=loc) from None
        except ValueError as exc:  # int(nan), float('inf') rounding, ...
            raise InputError(f"{node[2]}(): {exc}", location=loc) from None
    raise InputError(f"cannot evaluate {kind!r}", location=locate(node[1]))  # pragma: no cover
