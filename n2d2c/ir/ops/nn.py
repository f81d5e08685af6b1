"""Layers with weights: convolutions, dense products, normalisations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Operation
from ..types import TensorType
from .activation import FusedActivation, check_activation
from .quant import check_integer_layer
from .registry import register_op
from .shape_rules import broadcast_shapes, check_window, window_output


def _check_same_dtype(op, types):
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        raise op.error(f"operand element types differ: {sorted(d.value for d in dtypes)}")


@register_op
@dataclass(eq=False, kw_only=True)
class Conv2d(FusedActivation, Operation):
    """2-D convolution, NCHW. Operands: x[N,C,H,W], w[M,C/group,kh,kw], optional b[M].

    ``pads`` are (top, left, bottom, right), ONNX's begin-then-end order.
    Integer operands give an i32/i64 accumulator (exact semantics in quant.py).
    """

    OP_NAME = "conv2d"
    ARITY = (2, 3)

    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    group: int = 1

    def infer(self, types):
        check_activation(self)
        x, w = types[0], types[1]
        if x.rank != 4 or w.rank != 4:
            raise self.error(f"expects 4-D input and weights, got {x} and {w}")
        n, c, h, wd = x.shape
        m, cg, kh, kw = w.shape
        if self.group < 1 or c != cg * self.group or m % self.group:
            raise self.error(f"input has {c} channels but weights {list(w.shape)} "
                             f"with group={self.group} expect {cg * self.group}")
        if len(types) == 3 and types[2].shape != (m,):
            raise self.error(f"bias shape {list(types[2].shape)} should be [{m}]")
        dtype = x.dtype
        if x.dtype.is_integer or w.dtype.is_integer:
            dtype = check_integer_layer(self, types)
        else:
            _check_same_dtype(self, types[:2])
        check_window(self, (kh, kw), self.strides, self.pads, self.dilations)
        oh = window_output(h, kh, self.strides[0], self.pads[0], self.pads[2], self.dilations[0])
        ow = window_output(wd, kw, self.strides[1], self.pads[1], self.pads[3], self.dilations[1])
        if oh <= 0 or ow <= 0:
            raise self.error(f"kernel {kh}x{kw} does not fit input {h}x{wd} with pads {list(self.pads)}")
        return [TensorType((n, m, oh, ow), dtype, x.layout)]


@register_op
@dataclass(eq=False, kw_only=True)
class ConvTranspose2d(FusedActivation, Operation):
    """Transposed 2-D convolution. w[C, M/group, kh, kw]; pads (top, left, bottom, right).
    Integer operands give an i32/i64 accumulator (exact semantics in quant.py)."""

    OP_NAME = "conv_transpose2d"
    ARITY = (2, 3)

    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    output_padding: tuple[int, int] = (0, 0)
    group: int = 1

    def infer(self, types):
        check_activation(self)
        x, w = types[0], types[1]
        if x.rank != 4 or w.rank != 4:
            raise self.error(f"expects 4-D input and weights, got {x} and {w}")
        n, c, h, wd = x.shape
        if c != w.shape[0]:
            raise self.error(f"input has {c} channels, weights {list(w.shape)} expect {w.shape[0]}")
        m = w.shape[1] * self.group
        check_window(self, w.shape[2:], self.strides, self.pads, self.dilations)
        if self.group < 1 or c % self.group:
            raise self.error(f"group={self.group} does not divide the {c} input channels")
        if len(types) == 3 and types[2].shape != (m,):
            raise self.error(f"bias shape {list(types[2].shape)} should be [{m}]")
        dims = []
        for axis, size in enumerate((h, wd)):
            k = w.shape[2 + axis]
            out = (self.strides[axis] * (size - 1) + self.output_padding[axis]
                   + (k - 1) * self.dilations[axis] + 1 - self.pads[axis] - self.pads[axis + 2])
            if out <= 0:
                raise self.error(f"output size {out} along axis {axis + 2} is not positive")
            dims.append(out)
        dtype = x.dtype
        if x.dtype.is_integer or w.dtype.is_integer:
            dtype = check_integer_layer(self, types)
        return [TensorType((n, m, *dims), dtype, x.layout)]


@register_op
@dataclass(eq=False, kw_only=True)
class Gemm(FusedActivation, Operation):
    """alpha * op(A) @ op(B) + beta * C with op = optional transpose (ONNX Gemm).

    Integer operands (alpha = beta = 1) give an i32/i64 accumulator (quant.py).
    """

    OP_NAME = "gemm"
    ARITY = (2, 3)

    alpha: float = 1.0
    beta: float = 1.0
    trans_a: bool = False
    trans_b: bool = False

    # -- the operands' arrangement: every reader of trans_a/trans_b asks these --------
    def effective_operands(self, a, b, transpose=None):
        """(op(A), op(B)), the operands as the product ``op(A) @ op(B)`` reads them.

        ``transpose`` swaps the two axes of one operand; by default ``.T`` (numpy
        arrays) or reversal (shape tuples); a backend passes its own for its views.
        """
        transpose = transpose or _swap_axes
        return (transpose(a) if self.trans_a else a), (transpose(b) if self.trans_b else b)

    @property
    def a_inner_axis(self) -> int:
        """The axis of A summed against B (the columns of op(A))."""
        return 0 if self.trans_a else 1

    @property
    def b_input_axis(self) -> int:
        """The axis of B summed against A: B's input features (the rows of op(B))."""
        return 1 if self.trans_b else 0

    @property
    def b_output_axis(self) -> int:
        """The axis of B along which the outputs run (the columns of op(B))."""
        return 0 if self.trans_b else 1

    def infer(self, types):
        check_activation(self)
        a, b = types[0], types[1]
        if a.rank != 2 or b.rank != 2:
            raise self.error(f"expects 2-D operands, got {a} and {b}")
        (m, k), (k2, n) = self.effective_operands(a.shape, b.shape)
        if k != k2:
            raise self.error(f"inner dimensions differ: {k} vs {k2}")
        if len(types) == 3:
            if broadcast_shapes(self, [(m, n), types[2].shape]) != (m, n):
                raise self.error(f"C of shape {list(types[2].shape)} does not broadcast to [{m}, {n}]")
        dtype = a.dtype
        if a.dtype.is_integer or b.dtype.is_integer:
            dtype = check_integer_layer(self, types)
            if self.alpha != 1.0 or self.beta != 1.0:
                raise self.error("an integer gemm needs alpha = beta = 1")
        return [TensorType((m, n), dtype)]


@register_op
@dataclass(eq=False, kw_only=True)
class MatMul(Operation):
    """numpy.matmul semantics (batched, broadcasting, 1-D promotion); integer
    operands give an i32/i64 accumulator (quant.py)."""

    OP_NAME = "matmul"
    ARITY = (2, 2)

    def infer(self, types):
        a, b = types[0].shape, types[1].shape
        if not a or not b:
            raise self.error("operands must have rank >= 1")
        a2 = (1,) + a if len(a) == 1 else a
        b2 = b + (1,) if len(b) == 1 else b
        if a2[-1] != b2[-2]:
            raise self.error(f"inner dimensions differ: {list(a)} @ {list(b)}")
        batch = broadcast_shapes(self, [a2[:-2], b2[:-2]]) if len(a2) > 2 or len(b2) > 2 else ()
        shape = batch + (a2[-2], b2[-1])
        if len(a) == 1:
            shape = shape[:-2] + shape[-1:]
        if len(b) == 1:
            shape = shape[:-1]
        dtype = types[0].dtype
        if types[0].dtype.is_integer or types[1].dtype.is_integer:
            dtype = check_integer_layer(self, types, weight_index=None)
        return [TensorType(shape, dtype)]


@register_op
@dataclass(eq=False, kw_only=True)
class BatchNorm(Operation):
    """Inference batch normalisation. Operands: x, scale, bias, mean, var (each [C])."""

    OP_NAME = "batch_norm"
    ARITY = (5, 5)

    epsilon: float = 1e-5

    def infer(self, types):
        x = types[0]
        if x.rank < 2:
            raise self.error(f"expects rank >= 2 input, got {x}")
        c = x.shape[1]
        for role, t in zip(("scale", "bias", "mean", "var"), types[1:]):
            if t.shape != (c,):
                raise self.error(f"{role} has shape {list(t.shape)}, expected [{c}]")
        return [x]


@register_op
@dataclass(eq=False, kw_only=True)
class LRN(Operation):
    """Local response normalisation across channels (ONNX LRN)."""

    OP_NAME = "lrn"

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    bias: float = 1.0

    def infer(self, types):
        if types[0].rank < 3:
            raise self.error(f"expects rank >= 3 input, got {types[0]}")
        return [types[0]]


def _swap_axes(operand):
    return operand[::-1] if isinstance(operand, tuple) else operand.T


def conv_macs(op: Operation) -> int:
    """Multiply-accumulates of a conv-like op, for `n2d2c info`."""
    w = op.inputs[1].type.shape
    out = op.output.type.shape
    if isinstance(op, Conv2d):
        return int(np.prod(out)) * int(np.prod(w[1:]))
    if isinstance(op, ConvTranspose2d):
        return int(np.prod(op.inputs[0].type.shape)) * int(np.prod(w[1:]))
    return 0
