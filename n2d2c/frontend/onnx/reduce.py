"""ONNX reductions (ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp): one converter to the IR's
reduction family (ir/ops/reduce.py) for run-time tensors and one folder for constants.

The axes are an attribute before opset 18 (ReduceSum: 13) and a constant input after
(params.reduce_axes reads both forms).  There, ``noop_with_empty_axes=1`` with no axes
reduces over no axis: each element alone, which is the identity except for ReduceL1 and
ReduceL2 (|x|), ReduceSumSquare (x * x) and ReduceLogSum (log x); those reduce over a
new axis of size 1 (onnxruntime and ONNX's reference agree).
"""

from __future__ import annotations

from ...ir import ops
from ...ir.ops.reduce import reduce_reference
from . import params, spatial
from .registry import converter, folder

# The IR class of each reduction is named after its ONNX op type.
REDUCTIONS = {cls.__name__: cls for cls in ops.REDUCTIONS}
# Reductions whose result over one element is that element.
IDENTITY_ON_ONE = {"mean", "sum", "max", "min", "prod", "log_sum_exp"}


@converter(*REDUCTIONS, static=(1,))
def convert_reduce(ctx):
    x = ctx.value(0)
    if not x.type.dtype.is_float:
        raise ctx.unsupported(f"{ctx.op_type} of a run-time {x.type.dtype.value} tensor "
                              "(supported: float tensors)")
    cls = REDUCTIONS[ctx.op_type]
    axes, keepdims = params.reduce_axes(ctx, x.type.rank)
    if axes is None and cls.KIND in IDENTITY_ON_ONE:
        ctx.emit(ops.Identity(), [x])
    elif axes is None:
        one = spatial.reshape_value(ctx, x, x.type.shape + (1,), "elements")
        ctx.emit(cls(axes=(x.type.rank,), keepdims=False), [one])
    else:
        ctx.emit(cls(axes=axes, keepdims=keepdims), [x])


@folder(*REDUCTIONS)
def fold_reduce(ctx, arrays):
    x = arrays[0]
    kind = REDUCTIONS[ctx.op_type].KIND
    axes, keepdims = params.reduce_axes(ctx, x.ndim)
    if axes is None:
        x, axes, keepdims = x[..., None], (x.ndim,), False
    return [reduce_reference(kind, x, axes, keepdims).astype(x.dtype)]
