"""Element-wise math of transformer-style networks: square root, reciprocal, exp,
log, erf, abs, neg, floor, ceil and pow, on run-time tensors (on constants the ONNX
frontend folds them at import), and GELU.  Float tensors only; each keeps its operand's type."""

from __future__ import annotations

from dataclasses import dataclass

from .elementwise import BinaryOp, UnaryOp
from .registry import op_family_member, register_op


class FloatUnary(UnaryOp):
    """A unary function of a float tensor."""

    def infer(self, types):
        if not types[0].dtype.is_float:
            raise self.error(f"takes a float tensor, not {types[0].dtype.value}")
        return [types[0]]


def _unary(class_name: str, op_name: str, doc: str) -> type:
    return op_family_member(FloatUnary, class_name, op_name, doc, __name__)


Sqrt = _unary("Sqrt", "sqrt", "Square root (NaN below 0).")
Reciprocal = _unary("Reciprocal", "reciprocal", "1 / x.")
Exp = _unary("Exp", "exp", "e ** x.")
Log = _unary("Log", "log", "Natural logarithm (-inf at 0, NaN below).")
Erf = _unary("Erf", "erf", "The Gauss error function (GELU's building block).")
Abs = _unary("Abs", "abs", "|x|.")
Neg = _unary("Neg", "neg", "-x.")
Floor = _unary("Floor", "floor", "Round towards -inf.")
Ceil = _unary("Ceil", "ceil", "Round towards +inf.")


@register_op
@dataclass(eq=False, kw_only=True)
class Pow(BinaryOp):
    """x ** y with broadcasting (the frontend casts a constant exponent to x's type)."""

    OP_NAME = "pow"

    def infer(self, types):
        if not types[0].dtype.is_float:
            raise self.error(f"takes a float base, not {types[0].dtype.value}")
        return super().infer(types)


# Gelu's ``approximate`` values (the ONNX attribute's): the exact erf form, or tanh's.
GELU_APPROXIMATIONS = ("none", "tanh")


@register_op
@dataclass(eq=False, kw_only=True)
class Gelu(FloatUnary):
    """x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); with ``approximate = "tanh"``
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (ONNX Gelu, opset 20)."""

    OP_NAME = "gelu"

    approximate: str = "none"

    def infer(self, types):
        if self.approximate not in GELU_APPROXIMATIONS:
            raise self.error(f"approximate {self.approximate!r} is not one of "
                             f"{list(GELU_APPROXIMATIONS)}")
        return super().infer(types)


UNARY_MATH = (Sqrt, Reciprocal, Exp, Log, Erf, Abs, Neg, Floor, Ceil)
