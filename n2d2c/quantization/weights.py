"""A weighted layer's float parameters, clipped, and their symmetric scales.

Weights are symmetric, ``[-(2**(b-1) - 1), 2**(b-1) - 1]``, with one scale per
layer or per output channel (the per-channel range is floored at
``min(layer range, 0.1)``), after optional clipping of the layer's weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import DType, Graph
from .histogram import Histogram, clipping_threshold
from .options import QuantizationOptions
from .units import Unit


@dataclass
class LayerWeights:
    """A weighted layer's float parameters, clipped, and their scales."""

    w: np.ndarray                # float64, original layout (alpha folded for gemm)
    bias: np.ndarray | None      # float64 [channels]
    axis: int                    # output-channel axis of w
    channels: int
    scales: np.ndarray           # s_w per channel (all equal when per layer)
    qmax: int
    dtype: DType


def layer_weights(graph: Graph, unit: Unit, opt: QuantizationOptions) -> LayerWeights:
    """The weights of a conv / deconv / gemm / matmul-const unit, clipped, with their
    scales.  A transposed convolution's weights are [C_in, C_out, kh, kw]: its output
    channels lie along axis 1 (units.py keeps it to one group)."""
    op, kind = unit.op, unit.kind
    w = graph.constant_value(op.inputs[1]).astype(np.float64)
    bias = None
    if kind in ("conv", "deconv"):
        axis = 0 if kind == "conv" else 1
        if len(op.inputs) == 3:
            bias = graph.constant_value(op.inputs[2]).astype(np.float64).reshape(-1)
    elif kind == "gemm":
        w = w * op.alpha
        axis = op.b_output_axis
        if len(op.inputs) == 3:
            c = graph.constant_value(op.inputs[2]).astype(np.float64).reshape(-1) * op.beta
            bias = np.broadcast_to(c, (unit.channels,)).copy()
    else:
        axis = 1
    channels = w.shape[axis]
    wbits = opt.weight_bits
    wq = (1 << (wbits - 1)) - 1
    if opt.wt_clipping_mode != "None":
        absmax = float(np.abs(w).max()) if w.size else 0.0
        if absmax > 0:
            t = clipping_threshold(Histogram.of(w, signed=True), opt.wt_clipping_mode,
                                   nbbits=wbits, qmin=-wq, qmax=wq, signed=True,
                                   quantile=1.0, max_abs=absmax)
            if t > 0:
                w = np.clip(w, -t, t)
    wm = np.moveaxis(w, axis, 0).reshape(channels, -1)
    layer_range = float(np.abs(wm).max()) if wm.size else 0.0
    if opt.per_channel_weights and layer_range > 0:
        ranges = np.maximum(np.abs(wm).max(axis=1), min(layer_range, 0.1))
    else:
        ranges = np.full(channels, layer_range if layer_range > 0 else 1.0)
    return LayerWeights(w, bias, axis, channels, ranges / wq, wq,
                        DType.I8 if wbits <= 8 else DType.I16)
