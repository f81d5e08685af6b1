"""Real scales of integer values, and ONNX-shaped per-channel constants."""

from __future__ import annotations

import numpy as np

from ...ir import Graph, Value
from ...ir.ops.quant import per_channel
from ...quantization.scales import ValueScale, value_scales


class ScaleTable:
    """``value_scales`` of the graph, plus what the exporter derives on the way."""

    def __init__(self, graph: Graph):
        self.table: dict[str, ValueScale] = dict(value_scales(graph))

    def get(self, v: Value) -> ValueScale | None:
        return self.table.get(v.name)

    def set(self, v: Value, scale: ValueScale) -> None:
        self.table[v.name] = scale

    @staticmethod
    def per_tensor(scale: ValueScale | None) -> bool:
        return scale is not None and len(set(scale.scales)) == 1


def channel_array(values, channels: int, rank: int, axis: int, dtype) -> np.ndarray:
    """A per-channel attribute as an array broadcasting along ``axis`` of a rank-``rank``
    tensor: a scalar when every channel agrees, else shape [C, 1, ..., 1]."""
    array = per_channel(values, channels, dtype)
    if array.size == 0 or np.all(array == array[0]):
        return np.asarray(array[0] if array.size else 0, dtype=dtype)
    return array.reshape((channels,) + (1,) * (rank - 1 - axis))


def quant_params(scale: ValueScale, dtype, axis_size: int | None = None):
    """(scale array, zero point array, axis) for Quantize/DequantizeLinear: scalars
    when per tensor, 1-D along ``scale.axis`` otherwise."""
    scales = np.asarray(scale.scales, np.float64)
    if np.all(scales == scales[0]):
        return (np.asarray(scales[0], np.float32), np.asarray(scale.zero_point, dtype), None)
    zp = np.full(scales.shape, scale.zero_point, dtype=dtype)
    return scales.astype(np.float32), zp, scale.axis
