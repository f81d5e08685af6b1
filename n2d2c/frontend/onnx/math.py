"""ONNX element-wise math on run-time tensors (ir/ops/math.py), and ``Gelu`` (opset 20)
written as the math it stands for: ``0.5 x (1 + erf(x / sqrt 2))``, or with
``approximate="tanh"`` ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``.
LayerNormalization is with the other normalizations (normalization.py).

On constant inputs the folders of folding.py evaluate them at import instead.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import ops
from .registry import converter

_UNARY = {"Sqrt": ops.Sqrt, "Reciprocal": ops.Reciprocal, "Exp": ops.Exp, "Log": ops.Log,
          "Erf": ops.Erf, "Abs": ops.Abs, "Neg": ops.Neg, "Floor": ops.Floor, "Ceil": ops.Ceil}


@converter(*_UNARY)
def convert_unary_math(ctx):
    ctx.emit(_UNARY[ctx.op_type](), [ctx.value(0)])


@converter("Pow")
def convert_pow(ctx):
    x = ctx.value(0)
    exponent = ctx.const(1)
    if exponent is not None:
        # ONNX lets the exponent have another type (Pow(x, int64 2)); the IR's does not.
        y = ctx.constant(exponent.astype(x.type.dtype.numpy), "exponent")
    else:
        y = ctx.value(1)
        if y.type.dtype != x.type.dtype:
            raise ctx.unsupported(f"a run-time exponent of type {y.type.dtype.value} for a "
                                  f"{x.type.dtype.value} base (supported: the same type, or "
                                  "a constant exponent of any type)")
    ctx.emit(ops.Pow(), [x, y])


def _scalar(ctx, x, value: float, suffix: str):
    return ctx.constant(np.array(value, x.type.dtype.numpy), suffix)


@converter("Gelu")
def convert_gelu(ctx):
    x = ctx.value(0)
    approximate = ctx.attr("approximate", "none")
    if approximate == "tanh":
        cube = ctx.emit(ops.Pow(), [x, _scalar(ctx, x, 3.0, "three")], suffix="cube", outputs=None)
        inner = ctx.emit(ops.Mul(), [cube.output, _scalar(ctx, x, 0.044715, "k")], suffix="k",
                         outputs=None)
        inner = ctx.emit(ops.Add(), [x, inner.output], suffix="poly", outputs=None)
        inner = ctx.emit(ops.Mul(), [inner.output, _scalar(ctx, x, math.sqrt(2 / math.pi), "c")],
                         suffix="scaled", outputs=None)
        gate = ctx.emit(ops.Tanh(), [inner.output], suffix="tanh", outputs=None)
    elif approximate == "none":
        inner = ctx.emit(ops.Div(), [x, _scalar(ctx, x, math.sqrt(2.0), "sqrt2")],
                         suffix="scaled", outputs=None)
        gate = ctx.emit(ops.Erf(), [inner.output], suffix="erf", outputs=None)
    else:
        raise ctx.unsupported(f"approximate={approximate!r} (supported: 'none', 'tanh')")
    one_plus = ctx.emit(ops.Add(), [gate.output, _scalar(ctx, x, 1.0, "one")], suffix="one_plus",
                        outputs=None)
    half = ctx.emit(ops.Mul(), [x, _scalar(ctx, x, 0.5, "half")], suffix="half", outputs=None)
    ctx.emit(ops.Mul(), [half.output, one_plus.output])
