"""`fuse-bn`: fold inference BatchNorm into the layer before it, or into Mul+Add.

BN(x) = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a, per
channel (axis 1).  When x is the result of a Conv2d, ConvTranspose2d or Gemm
with constant weights, BN is the only reader of x and x is not a graph output,
the layer's output channel c is scaled by a[c] and shifted by b[c] instead.
Otherwise BN becomes ``mul(x, a) → add(·, b)`` with constant a and b.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Operation
from ..ir.ops import Add, BatchNorm, Conv2d, ConvTranspose2d, Gemm, Mul
from .base import Pass, PassResult
from .pattern import (RewritePattern, apply_patterns, constant_operands, forward,
                      is_float, replace_constant, sole_user)
from .registry import register_pass


def bn_affine(graph: Graph, bn: BatchNorm) -> tuple[np.ndarray, np.ndarray] | None:
    """(a, b) in float64 with BN(x) = x * a + b per channel; None unless constant."""
    params = constant_operands(graph, bn, 1)
    if params is None or not is_float(bn.inputs[0]):
        return None
    scale, bias, mean, var = (p.astype(np.float64) for p in params)
    a = scale / np.sqrt(var + bn.epsilon)
    return a, bias - mean * a


def _scaled_weights(layer: Operation, w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``w`` with the layer's output channel c multiplied by a[c]."""
    if isinstance(layer, Conv2d):
        return w * a[:, None, None, None]
    if isinstance(layer, ConvTranspose2d):  # w[C, M/group, kh, kw]
        g = layer.group
        grouped = w.reshape(g, w.shape[0] // g, w.shape[1], *w.shape[2:])
        return (grouped * a.reshape(g, 1, -1, 1, 1)).reshape(w.shape)
    return w * np.expand_dims(a, layer.b_input_axis)  # Gemm: a[c] along B's output axis


class FoldIntoLayer(RewritePattern):
    """conv(x, w, c) → batch_norm  ⇒  conv(x, w·a, c·a + b)."""

    roots = (BatchNorm,)

    def match_and_rewrite(self, bn: Operation, graph: Graph) -> bool:
        layer = bn.inputs[0].producer
        if not isinstance(layer, (Conv2d, ConvTranspose2d, Gemm)) or layer.has_activation:
            return False
        if sole_user(graph, layer.output) is not bn:
            return False
        affine = bn_affine(graph, bn)
        arrays = constant_operands(graph, layer, 1)
        if affine is None or arrays is None:
            return False
        a, b = affine
        w = arrays[0]
        dtype = w.dtype
        new_w = _scaled_weights(layer, w.astype(np.float64), a)
        if isinstance(layer, Gemm):
            # alpha·A·op(B)·a + beta·C·a + b = alpha·A·op(B·a) + 1·(beta·C·a + b)
            c = arrays[1].astype(np.float64) * layer.beta if len(arrays) > 1 else 0.0
            new_bias = c * a + b
            layer.beta = 1.0
        else:
            c = arrays[1].astype(np.float64) if len(arrays) > 1 else 0.0
            new_bias = c * a + b
        replace_constant(graph, layer, 1, new_w.astype(dtype), f"{layer.name}.w")
        replace_constant(graph, layer, 2, np.asarray(new_bias, dtype), f"{layer.name}.b")
        forward(graph, bn, layer.output)
        return True


class DecomposeToMulAdd(RewritePattern):
    """batch_norm(x) ⇒ add(mul(x, a), b), with a and b shaped [C, 1, ...]."""

    roots = (BatchNorm,)

    def match_and_rewrite(self, bn: Operation, graph: Graph) -> bool:
        affine = bn_affine(graph, bn)
        if affine is None:
            return False
        x = bn.inputs[0]
        shape = (-1,) + (1,) * (x.type.rank - 2)
        dtype = x.type.dtype.numpy
        a, b = (v.reshape(shape).astype(dtype) for v in affine)
        scale = graph.constant(a, name=f"{bn.name}.scale", before=bn)
        shift = graph.constant(b, name=f"{bn.name}.shift", before=bn)
        mul = graph.add(Mul(), [x, scale], [f"{bn.name}.mul"], before=bn)
        add = graph.add(Add(), [mul.output, shift], [f"{bn.name}.add"], before=bn)
        name = bn.output.name
        forward(graph, bn, add.output)
        graph.rename(add.output, name)
        add.name = name
        return True


@register_pass
@dataclass(frozen=True)
class FuseBatchNorm(Pass):
    """Fold BatchNorm into the preceding conv/gemm, else turn it into Mul+Add."""

    name = "fuse-bn"

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [FoldIntoLayer(), DecomposeToMulAdd()])
        return PassResult({"fused": counts["FoldIntoLayer"],
                           "decomposed": counts["DecomposeToMulAdd"]})
