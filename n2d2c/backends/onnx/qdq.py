"""The QDQ form: float ONNX ops between QuantizeLinear / DequantizeLinear pairs.

Every 8/16-bit integer IR value becomes ``QuantizeLinear`` (the integer tensor,
carrying the IR value's name) followed by ``DequantizeLinear`` (its real value,
read by the next float op).  Weights and biases are integer initializers read
through ``DequantizeLinear`` (per axis where the scales differ per output
channel).  An integer layer (conv/gemm/matmul/add) becomes the float op on the
dequantized operands; its accumulator exists only as a real value, which the
following ``rescale`` clamps (Relu / Clip / Max / Min) and quantizes.

Scales follow ``ScaleTracker`` (scales.py): ``value_scales`` corrected so that
each requantization ratio equals the rescale's effective factor, with tiny
downward nudges of the output scale where that makes round-half-to-even break
exact ties as quant.py does (non-negative shift-mode results, average pooling).
What ONNX cannot say exactly is listed in the README written beside the model
(rounding half to even in float32 against quant.py's exact half away / half up,
e.g. signed shift-mode ties), which is why a requantization may be one step off.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...ir import Operation, Value
from ...ir import ops as O
from ...ir.integer import dtype_bounds, saturated_bounds
from ...ir.types import DType
from ...quantization.scales import ValueScale
from .int_softmax import integer_softmax
from .lookup import gather_table
from .lowering import Exporter
from .scales import TIE_NUDGE_MIN, ScaleTracker, channel_array, is_per_tensor, quant_params
from .writer import ONNX_DTYPES

#: Integer element types QuantizeLinear can produce (opset 21).
Q_DTYPES = (DType.I8, DType.U8, DType.I16)
PASS_OPS = (O.MaxPool2d, O.AvgPool2d, O.GlobalAvgPool, O.GlobalMaxPool, O.Reshape, O.Transpose,
            O.Slice, O.Split, O.Identity, O.Dropout, O.Pad, O.Relu, O.Clip, O.Max, O.Min,
            O.Concat)


class QdqExporter(Exporter):
    form = "qdq"

    def prepare(self) -> None:
        self.scales = ScaleTracker(self.g)
        self.reals: dict[int, str] = {}
        self._constants: dict[tuple, str] = {}   # (constant, scale) -> its real tensor
        self._named: set[int] = set()

    def integer_handler(self, op: Operation):
        if isinstance(op, O.Quantize):
            return self._quantize
        if isinstance(op, O.Dequantize):
            return self._dequantize
        if isinstance(op, O.Rescale):
            return self._rescale
        if isinstance(op, (O.Conv2d, O.Gemm, O.MatMul)):
            return self._layer
        if isinstance(op, (O.Add, O.Sub)):
            return self._add
        if isinstance(op, O.Mul):
            return self._mul
        if isinstance(op, O.Lookup):
            return self._lookup
        if isinstance(op, O.IntSoftmax):
            return self._int_softmax
        if isinstance(op, PASS_OPS) or (isinstance(op, O.Resize) and op.mode == "nearest"):
            return self._pass  # a nearest resize copies levels
        return None

    # -- real values ---------------------------------------------------------------------
    def real(self, v: Value, reader: Operation, scale: ValueScale | None = None) -> str:
        """The float tensor holding the real value of ``v`` (a constant is dequantized
        at ``scale`` when given)."""
        if v.type.dtype.is_float:
            return self.value(v)
        key = (id(v), scale.scales if scale is not None else None)
        name = self.reals.get(id(v)) if scale is None else self._constants.get(key)
        if name is not None:
            return name
        scale = scale or self.scales.need(v, reader, self.form)
        const = self.g.constant_value(v)
        if const is not None and v.type.dtype is DType.I64:
            target = self.w.fresh(v.name) if id(v) in self._named else self.w.claim(v.name)
            self._named.add(id(v))
            # DequantizeLinear reads at most int32: a 16-bit layer's i64 bias goes as int32
            # when it fits, else as its real value.
            if const.size and (const.min() < -2**31 or const.max() >= 2**31):
                real = (const.astype(np.float64) - scale.zero_point) * _broadcast(scale, const)
                name = self.w.initializer(real.astype(np.float32), target)
            else:
                q = self.w.initializer(const.astype(np.int32), target)
                name = self.dequantize_linear(q, scale, DType.I32, f"{v.name}.dq")
        elif v.type.dtype in Q_DTYPES or v.type.dtype is DType.I32:
            name = self.dequantize_linear(self.value(v), scale, v.type.dtype, f"{v.name}.dq")
        else:
            raise self.unsupported(reader, f"reading the {v.type.dtype.value} value %{v.name}")
        if key[1] is None:
            self.reals[id(v)] = name
        else:
            self._constants[key] = name
        return name

    def dequantize_linear(self, q: str, scale: ValueScale, dtype: DType, base: str) -> str:
        s, zp, axis = quant_params(scale, dtype.numpy)
        return self.w.op("DequantizeLinear", q, self.w.const(s, "scale"),
                         self.w.const(zp, "zero_point"), out=self.w.fresh(base), axis=axis)

    def quantize_linear(self, x: str, scale: ValueScale, dtype: DType, out: str) -> str:
        s, zp, axis = quant_params(scale, dtype.numpy)
        return self.w.op("QuantizeLinear", x, self.w.const(s, "scale"),
                         self.w.const(zp, "zero_point"), out=out, axis=axis)

    def define(self, v: Value, real: str, scale: ValueScale) -> None:
        """``v`` is ``real`` quantized at ``scale``: write the Q/DQ pair."""
        self.scales.set(v, scale)
        if v.type.dtype not in Q_DTYPES:
            self.reals[id(v)] = real  # e.g. an i32 reshape of an accumulator: real only
            return
        q = self.quantize_linear(real, scale, v.type.dtype, self.w.claim(v.name))
        self.tensors[id(v)] = q
        self.reals[id(v)] = self.dequantize_linear(q, scale, v.type.dtype, f"{v.name}.dq")

    def materialize(self, v: Value) -> str:
        """The integer tensor of a value that only exists as a real (an accumulator)."""
        real = self.reals.get(id(v))
        scale = self.scales.get(v)
        if real is None or scale is None:
            return super().materialize(v)
        rank = v.type.rank
        axis = scale.axis % rank if rank else 0
        channels = v.type.shape[axis] if rank else 1
        s = channel_array(scale.scales, channels, rank, axis, np.float32)
        t = self.w.op("Round", self.w.op("Div", real, self.w.const(s, "scale")))
        if scale.zero_point:
            t = self.w.op("Add", t, self.w.const(np.float32(scale.zero_point), "zero_point"))
        name = self.w.op("Cast", t, out=self.w.claim(v.name), to=ONNX_DTYPES[v.type.dtype])
        self.tensors[id(v)] = name
        return name

    # -- handlers ----------------------------------------------------------------------------
    def _quantize(self, op: O.Quantize) -> None:
        self.define(op.output, self.value(op.inputs[0]),
                    ValueScale((float(op.scale),), int(op.zero_point)))

    def _dequantize(self, op: O.Dequantize) -> None:
        x = op.inputs[0]
        out = self.w.claim(op.output.name)
        dtype = x.type.dtype
        if dtype in Q_DTYPES or (dtype is DType.I32 and op.zero_point == 0):
            self.w.op("DequantizeLinear", self.value(x),
                      self.w.const(np.float32(op.scale), "scale"),
                      self.w.const(np.asarray(op.zero_point, dtype.numpy), "zero_point"),
                      out=out, name=op.name)
        else:
            t = self.w.op("Cast", self.value(x), to=ONNX_DTYPES[DType.I64])
            if op.zero_point:
                t = self.w.op("Sub", t, self.w.const(np.int64(op.zero_point), "zero_point"))
            self.w.op("Mul", self.w.op("Cast", t, to=ONNX_DTYPES[DType.F32]),
                      self.w.const(np.float32(op.scale), "scale"), out=out, name=op.name)
        self.tensors[id(op.output)] = out

    def _layer(self, op: Operation) -> None:
        x, w = op.inputs[0], op.inputs[1]
        ins = [self.real(x, op)]
        plan = self.scales.layer(op, self.scales.need(x, op, self.form))
        if plan is None:  # two activations (matmul): the product of their scales
            ins.append(self.real(w, op))
            sa, sb = self.scales.need(x, op, self.form), self.scales.need(w, op, self.form)
            if not (is_per_tensor(sa) and is_per_tensor(sb)):
                raise self.unsupported(op, "with per-channel scaled activations")
            self.scales.set(op.output, ValueScale((sa.scales[0] * sb.scales[0],)))
        else:
            w_scale, acc_scale = plan
            ins.append(self.real(w, op, w_scale))
            if len(op.inputs) > 2:
                b = op.inputs[2]
                ins.append(self.real(b, op, ValueScale(acc_scale.scales, 0, b.type.rank - 1)))
        out = self.w.fresh(f"{op.output.name}.real")
        self.float_node(op, ins, [out])
        self.reals[id(op.output)] = out

    def _add(self, op: O.Add | O.Sub) -> None:
        scale = self.scales.shared(op, [self.scales.need(v, op, self.form) for v in op.inputs])
        self._real_binary(op, scale)

    def _mul(self, op: O.Mul) -> None:
        """An integer product: the float Mul of the real values, at the scales' product."""
        a, b = (self.scales.need(v, op, self.form) for v in op.inputs)
        if not (is_per_tensor(a) and is_per_tensor(b)) or a.zero_point or b.zero_point:
            raise self.unsupported(op, "with per-channel scales or zero points")
        self._real_binary(op, ValueScale((a.scales[0] * b.scales[0],)))

    def _real_binary(self, op: Operation, scale: ValueScale) -> None:
        ins = [self.real(v, op) for v in op.inputs]
        self.scales.set(op.output, scale)
        self.reals[id(op.output)] = self.w.op(type(op).__name__, *ins, name=op.name,
                                              out=self.w.fresh(f"{op.output.name}.real"))

    def _rescale(self, op: O.Rescale) -> None:
        x, y = op.inputs[0], op.output
        dtype = y.type.dtype
        if dtype not in Q_DTYPES:
            raise self.unsupported(op, f"producing {dtype.value}")
        real = self.real(x, op)
        scale = self.scales.rescaled(op, self.scales.need(x, op, self.form))
        rank = x.type.rank
        axis = op.axis % rank if rank else 0
        channels = op.channels(x.type.shape)
        s = np.broadcast_to(np.asarray(scale.scales, np.float64), (channels,))
        lo, hi = op.bounds(channels)
        dlo, dhi = dtype_bounds(dtype)
        real_lo = (lo - op.zero_point).astype(np.float64) * s
        real_hi = (hi - op.zero_point).astype(np.float64) * s
        use_lo, use_hi = bool(np.any(lo > dlo)), bool(np.any(hi < dhi))
        if use_lo or use_hi:
            if np.all(real_lo == real_lo[0]) and np.all(real_hi == real_hi[0]):
                if use_lo and not use_hi and lo[0] == op.zero_point:
                    real = self.w.op("Relu", real, name=f"{op.name}/relu")
                else:
                    real = self.clip(real, real_lo[0] if use_lo else -math.inf,
                                     real_hi[0] if use_hi else math.inf, DType.F32,
                                     name=f"{op.name}/clip")
            else:
                if use_lo:
                    bound = channel_array(real_lo, channels, rank, axis, np.float32)
                    real = self.w.op("Max", real, self.w.const(bound, f"{op.name}.min"),
                                     name=f"{op.name}/min")
                if use_hi:
                    bound = channel_array(real_hi, channels, rank, axis, np.float32)
                    real = self.w.op("Min", real, self.w.const(bound, f"{op.name}.max"),
                                     name=f"{op.name}/max")
        self.define(y, real, scale)

    def _lookup(self, op: O.Lookup) -> None:
        """The table as a Gather of integers (lookup.py), then its real value for the
        float ops that read it."""
        y = op.output
        if op.output_scale <= 0 or y.type.dtype not in Q_DTYPES:
            raise self.unsupported(op, "without an output scale")
        scale = ValueScale((float(op.output_scale),), int(op.output_zero_point))
        self.scales.set(y, scale)
        q = gather_table(self, op)
        self.tensors[id(y)] = q
        self.reals[id(y)] = self.dequantize_linear(q, scale, y.type.dtype, f"{y.name}.dq")

    def _int_softmax(self, op: O.IntSoftmax) -> None:
        """Integer arithmetic (int_softmax.py); an 8-bit result also gets its real value
        for the float ops that read it."""
        y = op.output
        q = integer_softmax(self, op)
        self.tensors[id(y)] = q
        if y.type.dtype.is_integer:
            scale = ValueScale((float(op.output_scale) or 1.0 / op.levels,), 0)
            self.scales.set(y, scale)
            self.reals[id(y)] = self.dequantize_linear(q, scale, y.type.dtype, f"{y.name}.dq")

    def _pass(self, op: Operation) -> None:
        """Data movement, pooling and clamps on integers: the float op on real values,
        then a Q/DQ pair at the (unchanged) scale."""
        data = [v for v in op.inputs if self.g.constant_value(v) is None]
        scale = self.scales.shared(op, [self.scales.need(v, op, self.form) for v in data]) \
            if data else self.scales.need(op.inputs[0], op, self.form)
        if not is_per_tensor(scale):
            raise self.unsupported(op, "on a per-channel scaled integer value")
        s, zp = scale.scales[0], scale.zero_point
        dtype = (data[0] if data else op.inputs[0]).type.dtype.numpy
        ins = []
        for v in op.inputs:
            const = self.g.constant_value(v)
            if const is not None and v.type.dtype.is_integer:
                real = (const.astype(np.float64) - zp) * s
                ins.append(self.w.const(real.astype(np.float32), f"{v.name}.real"))
            else:
                ins.append(self.real(v, op))
        fop = op
        if isinstance(op, O.Relu) and zp != 0:
            fop = O.Clip(min=0.0, name=op.name)  # max(q, 0) on the integers
        if isinstance(fop, O.Clip):
            lo, hi = saturated_bounds(fop.min, fop.max, dtype)
            fop = dataclasses.replace(fop, min=(lo - zp) * s, max=(hi - zp) * s)
        elif isinstance(op, O.Pad) and op.mode == "constant":
            info = np.iinfo(dtype)
            q = int(min(max(round(op.value), info.min), info.max))
            fop = dataclasses.replace(op, value=(q - zp) * s)
        outs = [self.w.fresh(f"{v.name}.real") for v in op.outputs]
        self.float_node(fop, ins, outs)
        if isinstance(op, (O.AvgPool2d, O.GlobalAvgPool)):
            scale = _average_scale(op, scale)
        for v, real in zip(op.outputs, outs):
            self.define(v, real, scale)


def _broadcast(scale: ValueScale, array: np.ndarray) -> np.ndarray:
    scales = np.asarray(scale.scales, np.float64)
    if scales.size == 1 or array.ndim == 0:
        return scales.reshape(()) if scales.size == 1 else scales
    shape = [1] * array.ndim
    shape[scale.axis % array.ndim] = scales.size
    return scales.reshape(shape)


def _average_scale(op: Operation, scale: ValueScale) -> ValueScale:
    """The output scale of a float average that QuantizeLinear then rounds: nudged
    down so that exact ties (``S / n`` with ``2S = (2k + 1) n``) round away from zero
    as in quant.py instead of to even.  The averages of integers are ``1 / n`` apart,
    so a nudge below a quarter of that at the largest level moves ties only."""
    x = op.inputs[0]
    n = int(np.prod(op.kernel)) if isinstance(op, O.AvgPool2d) else int(np.prod(x.type.shape[2:]))
    lo, hi = dtype_bounds(x.type.dtype)
    top = max(abs(lo - scale.zero_point), abs(hi - scale.zero_point), 1)
    nudge = 1.0 / (4 * n * top)
    if n <= 1 or nudge < TIE_NUDGE_MIN:
        return scale
    return ValueScale(tuple(s * (1.0 - nudge) for s in scale.scales), scale.zero_point,
                      scale.axis)
