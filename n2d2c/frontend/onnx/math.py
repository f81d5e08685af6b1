"""ONNX element-wise math on run-time tensors (ir/ops/math.py), and ``Gelu`` (opset 20),
the IR op of its name.  Older exports write GELU as its math; `recognize-activations`
(passes/recognize_activations.py) turns that back into the op.
LayerNormalization is with the other normalizations (normalization.py).

On constant inputs the folders of folding.py evaluate them at import instead.
"""

from __future__ import annotations

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


@converter("Gelu")
def convert_gelu(ctx):
    approximate = ctx.attr("approximate", "none")
    if approximate not in ops.GELU_APPROXIMATIONS:
        raise ctx.unsupported(f"approximate={approximate!r} (supported: 'none', 'tanh')")
    ctx.emit(ops.Gelu(approximate=approximate), [ctx.value(0)])
