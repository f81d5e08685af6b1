"""Cheap numpy evaluation of single ops, for `fold-constants`.

Only ops whose numpy form is a line or two are here (element-wise ops, data
movement, small products); convolutions and pools are left to the simulator.
``evaluate`` returns None for an op it does not know.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ..ir import Operation
from ..ir import ops as O
from ..ir.ops.activation import activate
from ..ir.ops.reduce import reduce_reference


def apply_activation(op: Operation, x) -> np.ndarray:
    """``op``'s fused activation applied to ``x`` (a copy: folding never changes a constant)."""
    return activate(np, op, np.array(x))


def _div(a, b):
    if np.issubdtype(np.result_type(a, b), np.integer):
        return np.trunc(a / b)  # ONNX integer division truncates toward zero
    return a / b


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _pad(op: O.Pad, x):
    rank = x.ndim
    begins, ends = op.pads[:rank], op.pads[rank:]
    # Negative pads crop first; the rest pads.
    x = x[tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0))
                for i, (b, e) in enumerate(zip(begins, ends)))]
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(begins, ends)]
    if op.mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=op.value)
    return np.pad(x, widths, mode="reflect" if op.mode == "reflect" else "edge")


def _gemm(op: O.Gemm, a, b, c=None):
    a, b = op.effective_operands(a, b)
    y = op.alpha * (a @ b)
    if c is not None:
        y = y + op.beta * c
    return apply_activation(op, y)


def _batch_norm(op: O.BatchNorm, x, scale, bias, mean, var):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = scale / np.sqrt(var + op.epsilon)
    return (x - mean.reshape(shape)) * inv.reshape(shape) + bias.reshape(shape)


def _split(op: O.Split, x):
    bounds = np.cumsum(op.sizes)[:-1]
    return np.split(x, bounds, axis=op.axis)


def _hard_sigmoid(op, x):
    return np.clip(op.alpha * x + op.beta, 0, 1)


def _gelu(op, x):
    if op.approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(math.erf, otypes=[x.dtype])(x / math.sqrt(2)))


_KERNELS: dict[type, Callable] = {
    O.Add: lambda op, a, b: apply_activation(op, a + b),
    O.Sub: lambda op, a, b: a - b,
    O.Mul: lambda op, a, b: a * b,
    O.Div: lambda op, a, b: _div(a, b),
    O.Max: lambda op, a, b: np.maximum(a, b),
    O.Min: lambda op, a, b: np.minimum(a, b),
    O.PRelu: lambda op, x, slope: np.where(x >= 0, x, x * slope),
    O.Relu: lambda op, x: np.maximum(x, 0),
    O.LeakyRelu: lambda op, x: np.where(x >= 0, x, x * op.alpha),
    O.Clip: lambda op, x: np.clip(x, op.min, op.max),
    O.Sigmoid: lambda op, x: 1 / (1 + np.exp(-x)),
    O.Softplus: lambda op, x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))),
    O.Tanh: lambda op, x: np.tanh(x),
    O.HardSigmoid: _hard_sigmoid,
    O.HardSwish: lambda op, x: x * np.clip(x / 6 + 0.5, 0, 1),
    O.Swish: lambda op, x: x / (1 + np.exp(-op.alpha * x)),
    O.Mish: lambda op, x: x * np.tanh(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
    O.Identity: lambda op, x: x,
    O.Sqrt: lambda op, x: np.sqrt(x), O.Reciprocal: lambda op, x: 1 / x,
    O.Exp: lambda op, x: np.exp(x), O.Log: lambda op, x: np.log(x),
    O.Erf: lambda op, x: np.vectorize(math.erf, otypes=[x.dtype])(x),
    O.Abs: lambda op, x: np.abs(x), O.Neg: lambda op, x: -x,
    O.Floor: lambda op, x: np.floor(x), O.Ceil: lambda op, x: np.ceil(x),
    O.Pow: lambda op, a, b: np.power(a, b),
    O.Gelu: _gelu,
    O.Dropout: lambda op, x: x,
    O.Cast: lambda op, x: x.astype(op.target.numpy),
    O.Equal: lambda op, a, b: a == b, O.Less: lambda op, a, b: a < b,
    O.Greater: lambda op, a, b: a > b, O.LessOrEqual: lambda op, a, b: a <= b,
    O.GreaterOrEqual: lambda op, a, b: a >= b,
    O.And: lambda op, a, b: a & b, O.Or: lambda op, a, b: a | b,
    O.Xor: lambda op, a, b: a ^ b, O.Not: lambda op, x: ~x,
    O.Where: lambda op, c, x, y: np.where(c, x, y),
    O.Sign: lambda op, x: np.sign(x),
    O.ArgMax: lambda op, x: op.evaluate(x), O.ArgMin: lambda op, x: op.evaluate(x),
    O.Softmax: lambda op, x: _softmax(x, op.axis),
    O.LogSoftmax: lambda op, x: np.log(_softmax(x, op.axis)),
    O.Reshape: lambda op, x: x.reshape(op.shape),
    O.Transpose: lambda op, x: np.transpose(x, op.perm),
    O.Concat: lambda op, *xs: np.concatenate(xs, axis=op.axis),
    O.Slice: lambda op, x: x[op.slices(x.ndim)],
    O.Split: _split,
    O.Pad: _pad,
    **{cls: lambda op, x: reduce_reference(op.KIND, x, op.reduced_axes(x.ndim), op.keepdims)
       for cls in O.REDUCTIONS},
    O.MatMul: lambda op, a, b: np.matmul(a, b),
    O.Gemm: _gemm,
    O.BatchNorm: _batch_norm,
}


def has_kernel(op: Operation) -> bool:
    return type(op) in _KERNELS


def evaluate(op: Operation, arrays: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """The results of ``op`` on ``arrays``, cast to the result types; None if unknown."""
    kernel = _KERNELS.get(type(op))
    if kernel is None:
        return None
    with np.errstate(all="ignore"):
        results = kernel(op, *arrays)
    if not isinstance(results, list):
        results = [results]
    return [np.ascontiguousarray(np.asarray(r).astype(v.type.dtype.numpy, copy=False))
            for r, v in zip(results, op.outputs, strict=True)]
