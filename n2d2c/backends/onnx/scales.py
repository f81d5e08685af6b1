"""Real scales of the integer tensors of an exported model.

``n2d2c.quantization.value_scales`` gives the scale the quantizer meant for every
integer value.  The integer IR, however, computes with each ``rescale``'s own
factor (``effective_multipliers``: a fixed-point ``m / 2**p``, a shift kept within
2 % of the ratio, ...), which may differ slightly from ``s_acc / s_out``.  An
exporter whose requantization is a ratio of real scales (QuantizeLinear,
QLinearConv...) reproduces the IR's integers only if that ratio *is* the
effective factor, so ``ScaleTracker`` assigns the scales that make it so:

* a layer (conv/gemm/matmul with constant weights) whose accumulator feeds one
  rescale gets the accumulator scale ``s_out * eff[c]`` and the weight scale
  ``s_out * eff[c] / s_x``: the rescale's output keeps ``s_out`` exactly;
* any other rescale's output gets ``s_in[c] / eff[c]`` (``s_out`` when equal);
* quantize outputs keep their scale; data movement, pooling and clamps keep
  their operand's; an integer add's accumulator has its operands' (shared)
  scale and a matmul of two activations the product of theirs;
* a shift-mode rescale whose results cannot be negative gets its output scale
  lowered by a tiny factor (``tie_nudge``), so that ONNX's round-half-to-even
  rounds exact ties up as quant.py does (the QDQ form does the same for integer
  average pooling, whose ties round away from zero).

The weight scales therefore differ from ``value_scales`` by the factor
``eff / (s_x * s_w / s_out)`` (exactly 1 in floating-point mode and for folded
shifts, within 2**-15 for fixed-point16, within 2 % for a kept shift).
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir import Graph, Operation, Value
from ...ir import ops as O
from ...ir.ops.quant import dtype_bounds, integer_dtype, per_channel
from ...quantization.scales import ValueScale, value_scales

SAME_SCALE = 1e-9
#: Operands that must share a scale may differ by this much (relative): a requantizing
#: fixed-point rescale hits the common scale only within 2**-15.
SHARED_SCALE = 1e-3
#: Smallest relative scale nudge worth making: below it float32 noise decides anyway.
TIE_NUDGE_MIN = 2.0 ** -20


def is_per_tensor(scale: ValueScale | None) -> bool:
    return scale is not None and len(set(scale.scales)) == 1


def channel_array(values, channels: int, rank: int, axis: int, dtype) -> np.ndarray:
    """A per-channel attribute as an array broadcasting along ``axis`` of a rank-``rank``
    tensor: a scalar when every channel agrees, else shape [C, 1, ..., 1]."""
    array = per_channel(values, channels, dtype)
    if array.size == 0 or np.all(array == array[0]):
        return np.asarray(array[0] if array.size else 0, dtype=dtype)
    return array.reshape((channels,) + (1,) * (rank - 1 - axis))


def quant_params(scale: ValueScale, dtype):
    """(scale, zero point, axis) for Quantize/DequantizeLinear: scalars when per
    tensor, 1-D along ``scale.axis`` otherwise (axis None)."""
    scales = np.asarray(scale.scales, np.float64)
    if np.all(scales == scales[0]):
        return (np.asarray(scales[0], np.float32), np.asarray(scale.zero_point, dtype), None)
    zp = np.full(scales.shape, scale.zero_point, dtype=dtype)
    return scales.astype(np.float32), zp, scale.axis


def _compact(values) -> tuple[float, ...]:
    values = tuple(float(v) for v in np.asarray(values, np.float64).reshape(-1))
    return values[:1] if values and all(v == values[0] for v in values) else values


class ScaleTracker:
    """The real scale of each integer value as the exporter writes it (module doc)."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.declared: dict[str, ValueScale] = dict(value_scales(graph))
        self.scales: dict[int, ValueScale] = {}
        self.readers: dict[int, list[Operation]] = {}
        for op in graph.ops:
            for v in op.inputs:
                self.readers.setdefault(id(v), []).append(op)

    # -- lookups ----------------------------------------------------------------------------
    def get(self, v: Value) -> ValueScale | None:
        scale = self.scales.get(id(v))
        if scale is None and (v.producer is None or isinstance(v.producer, O.Constant)):
            scale = self.declared.get(v.name)  # integer graph inputs, lone constants
        return scale

    def need(self, v: Value, reader: Operation, form: str) -> ValueScale:
        scale = self.get(v)
        if scale is None:
            raise UnsupportedError(
                f"the {form} form needs the real scale of integer value %{v.name} (read by "
                f"node '{reader.name}', {reader.OP_NAME}), which cannot be derived",
                location=reader.name or None,
                hint="give rescale ops input_scales/output_scale, or use onnx_format=qop "
                     "(qop_requant=exact)")
        return scale

    def set(self, v: Value, scale: ValueScale) -> ValueScale:
        self.scales[id(v)] = scale
        return scale

    def sole_rescale(self, acc: Value) -> O.Rescale | None:
        """The rescale that is the only reader of ``acc``, if it can set its scale."""
        users = self.readers.get(id(acc), [])
        if len(users) != 1 or self.g.is_output(acc) or not isinstance(users[0], O.Rescale):
            return None
        rs = users[0]
        if rs.output_scale <= 0 or rs.input_zero_point != 0:
            return None
        return rs

    # -- rules ----------------------------------------------------------------------------------
    def layer(self, op: Operation, s_x: ValueScale) -> tuple[ValueScale, ValueScale] | None:
        """(weight scale, accumulator scale) of an integer conv/gemm/matmul with constant
        weights and a per-tensor input scale; None when neither rule applies."""
        w = op.inputs[1]
        if self.g.constant_value(w) is None or not is_per_tensor(s_x):
            return None
        acc = op.output
        rank = acc.type.rank
        if isinstance(op, O.Conv2d):
            w_axis, out_axis = 0, 1
        elif isinstance(op, O.Gemm):
            w_axis, out_axis = op.b_output_axis, 1
        else:
            if w.type.rank < 2:
                return None
            w_axis, out_axis = w.type.rank - 1, rank - 1
        channels = acc.type.shape[out_axis]
        x = s_x.scales[0]
        rs = self.sole_rescale(acc)
        if rs is not None:
            eff = rs.effective_multipliers(rs.channels(acc.type.shape))
            axis = rs.axis % rank if rank else 0
            if axis == out_axis or np.all(eff == eff[0]):
                eff = eff[:1] if np.all(eff == eff[0]) else eff
                s_acc = rs.output_scale * per_channel(eff, channels, np.float64)
                acc_scale = ValueScale(_compact(s_acc), 0, out_axis)
                return ValueScale(_compact(s_acc / x), 0, w_axis), self.set(acc, acc_scale)
        declared = self.declared.get(w.name)
        if declared is None:
            return None
        s_w = per_channel(declared.scales, channels, np.float64)
        acc_scale = ValueScale(_compact(x * s_w), 0, out_axis)
        return ValueScale(_compact(s_w), 0, w_axis), self.set(acc, acc_scale)

    def rescaled(self, rs: O.Rescale, s_in: ValueScale) -> ValueScale:
        """Scale of ``rs``'s result: the input scale divided by the effective factor."""
        x = rs.inputs[0]
        rank = x.type.rank
        axis = rs.axis % rank if rank else 0
        channels = rs.channels(x.type.shape)
        if len(s_in.scales) > 1 and s_in.axis % max(rank, 1) != axis:
            raise UnsupportedError(f"{rs.label}: its operand is scaled per channel along axis "
                                   f"{s_in.axis}, not along the rescale's axis {axis}",
                                   location=rs.name or None)
        per = per_channel(s_in.scales, channels, np.float64) / rs.effective_multipliers(channels)
        if rs.output_scale > 0 and (np.all(np.abs(per / rs.output_scale - 1) <= SAME_SCALE)
                                    or not np.all(per == per[0])):
            # the declared scale; if the factors differ per channel while the output is
            # one tensor scale, the accumulator's scales could not absorb them (it has
            # other readers) and the ratio only approximates the factors
            per = np.full(channels, rs.output_scale)
        if is_per_tensor(ValueScale(_compact(per))):
            per = per * (1.0 - self.tie_nudge(rs))
        return self.set(rs.output, ValueScale(_compact(per), int(rs.zero_point), axis))

    @staticmethod
    def tie_nudge(rs: O.Rescale) -> float:
        """Relative decrease of a rescale's output scale that makes round-half-to-even
        (QuantizeLinear, QLinear*) round exact ties up like quant.py's ``>>`` modes.

        Only for results that cannot be negative (a ReLU-like lower bound), where
        half up and half away from zero agree, and only when ties are frequent (small
        shifts): the nudge must stay below a quarter of the spacing ``2**-shift`` of
        the exact results at the largest output level, and well above float32 noise.
        """
        if rs.mode not in ("single-shift", "double-shift") or not rs.shifts:
            return 0.0
        dlo, dhi = dtype_bounds(integer_dtype(rs, rs.dtype))
        if min(rs.out_min or (dlo,)) < rs.zero_point:
            return 0.0
        top = max(max(rs.out_max or (dhi,)) - rs.zero_point, 1)
        nudge = 2.0 ** -max(rs.shifts) / (4 * top)
        return nudge if nudge >= TIE_NUDGE_MIN else 0.0

    def shared(self, op: Operation, scales: list[ValueScale]) -> ValueScale:
        """The one scale of operands that must share it (add, concat, max/min): the
        first one's, the others being within ``SHARED_SCALE`` of it."""
        first = scales[0]
        for other in scales[1:]:
            if other.zero_point != first.zero_point or len(other.scales) != len(first.scales) \
                    or not np.allclose(other.scales, first.scales, rtol=SHARED_SCALE, atol=0):
                raise UnsupportedError(f"{op.label}: its integer operands have different scales "
                                       f"({first.scales[:3]} vs {other.scales[:3]})",
                                       location=op.name or None)
        return first
