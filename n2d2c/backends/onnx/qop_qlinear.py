"""The integer-operator form, ``qop_requant=qlinear``: what runtimes accelerate.

QLinearConv, QLinearMatMul (gemm without bias, matmul) and com.microsoft
QLinearAdd where the accumulator's only reader is a rescale to the operands'
8-bit type, ``DequantizeLinear -> QuantizeLinear`` for the other rescales,
QuantizeLinear / DequantizeLinear for quantize / dequantize, integer Clip / Max /
Min for the clamps.  Scales follow ``ScaleTracker`` (scales.py), so each
requantization ratio is the rescale's effective factor; but these ops compute
in float32 and round half to even, so a result may be one step off where the
exact value is (or is near) a tie.  Anything else (pooling, 16-bit layers, ...)
uses the exact ops of ``qop.py``.
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir import Operation, Value
from ...ir import ops as O
from ...ir.integer import dtype_bounds
from ...quantization.scales import ValueScale
from .qop import EIGHT_BITS, I8, I16, I32, U8, QopExporter
from .scales import ScaleTracker, is_per_tensor, quant_params


class QlinearExporter(QopExporter):
    requant = "qlinear"

    def prepare(self) -> None:
        super().prepare()
        self.scales = ScaleTracker(self.g)
        self.skip: set[int] = set()

    def lower(self, op: Operation) -> None:
        if id(op) in self.skip:
            return  # a rescale folded into the QLinear op before it
        if isinstance(op, (O.Conv2d, O.Gemm, O.MatMul, O.Add)) \
                and op.output.type.dtype.is_integer and self._try_qlinear(op):
            return
        super().lower(op)
        self._propagate(op)

    # -- quantize / dequantize / rescale ------------------------------------------------------
    def _quantize(self, op: O.Quantize) -> None:
        x, y = op.inputs[0], op.output
        dtype = y.type.dtype
        if dtype not in (I8, U8, I16):
            super()._quantize(op)
            return
        out = self.out_name(y)
        self.w.op("QuantizeLinear", self.value(x), self.w.const(np.float32(op.scale), "scale"),
                  self.w.const(np.asarray(op.zero_point, dtype.numpy), "zero_point"),
                  out=out, name=op.name)
        self.define(y, out)

    def _dequantize(self, op: O.Dequantize) -> None:
        x, y = op.inputs[0], op.output
        dtype = x.type.dtype
        if not (dtype in (I8, U8, I16) or (dtype is I32 and op.zero_point == 0)):
            super()._dequantize(op)
            return
        out = self.out_name(y)
        self.w.op("DequantizeLinear", self.value(x),
                  self.w.const(np.float32(op.scale), "scale"),
                  self.w.const(np.asarray(op.zero_point, dtype.numpy), "zero_point"),
                  out=out, name=op.name)
        self.define(y, out)

    def _rescale(self, op: O.Rescale) -> None:
        if not self._rescale_qlinear(op):
            super()._rescale(op)

    def _rescale_qlinear(self, op: O.Rescale) -> bool:
        """DequantizeLinear -> QuantizeLinear (then the clamp), at the tracked scales."""
        x, y = op.inputs[0], op.output
        s_in = self.scales.get(x)
        if (s_in is None or y.type.dtype not in (I8, U8, I16)
                or x.type.dtype not in (I8, U8, I16, I32) or s_in.zero_point != op.input_zero_point
                or (x.type.dtype is I32 and op.input_zero_point != 0)):
            return False
        rank = x.type.rank
        axis = op.axis % rank if rank else 0
        channels = op.channels(x.type.shape)
        if len(s_in.scales) > 1 and s_in.axis % max(rank, 1) != axis:
            return False
        y_scale = self.scales.rescaled(op, s_in)
        s, zp, ax = quant_params(s_in, x.type.dtype.numpy)
        real = self.w.op("DequantizeLinear", self.value(x), self.w.const(s, "scale"),
                         self.w.const(zp, "zero_point"), axis=ax, name=op.name)
        lo, hi = op.bounds(channels)
        dlo, dhi = dtype_bounds(y.type.dtype)
        need = bool(np.any(lo > dlo) or np.any(hi < dhi))
        out = self.out_name(y)
        s, zp, ax = quant_params(y_scale, y.type.dtype.numpy)
        q = self.w.op("QuantizeLinear", real, self.w.const(s, "scale"),
                      self.w.const(zp, "zero_point"), axis=ax, out=None if need else out,
                      name=f"{op.name}/quantize")
        if need:
            self.clamp(q, lo, hi, y.type.dtype, rank, axis, out)
        self.define(y, out)
        return True

    # -- qlinear fusion --------------------------------------------------------------------------
    def _propagate(self, op: Operation) -> None:
        """Record the real scale of each integer result (for the QLinear ops after it)."""
        t = self.scales
        for v in op.outputs:
            if not v.type.dtype.is_integer or id(v) in t.scales:
                continue
            if isinstance(op, O.Quantize):
                t.set(v, ValueScale((float(op.scale),), int(op.zero_point)))
            elif isinstance(op, O.Rescale):
                s_in = t.get(op.inputs[0])
                if s_in is not None:
                    t.rescaled(op, s_in)
            elif isinstance(op, (O.Conv2d, O.Gemm, O.MatMul)):
                sa, sb = t.get(op.inputs[0]), t.get(op.inputs[1])
                if sa is not None and t.layer(op, sa) is None and is_per_tensor(sa) \
                        and is_per_tensor(sb):
                    t.set(v, ValueScale((sa.scales[0] * sb.scales[0],)))
            else:
                known = [t.get(x) for x in op.inputs if self.g.constant_value(x) is None]
                if known and all(k is not None for k in known):
                    try:
                        t.set(v, t.shared(op, known))
                    except UnsupportedError:
                        pass

    def _fusable(self, op: Operation) -> O.Rescale | None:
        """The rescale a QLinear op can absorb after ``op``, if any."""
        rs = self.scales.sole_rescale(op.output)
        if rs is None or rs.output.type.dtype not in EIGHT_BITS:
            return None
        if any(v.type.dtype not in EIGHT_BITS for v in op.inputs[:2]):
            return None
        if rs.output.type.dtype is not op.inputs[0].type.dtype:
            return None  # onnxruntime's QLinear kernels read and write one 8-bit type
        if any(self.scales.get(v) is None for v in op.inputs[:2]
               if self.g.constant_value(v) is None):
            return None
        return rs

    def _try_qlinear(self, op: Operation) -> bool:
        rs = self._fusable(op)
        if rs is None:
            return False
        t = self.scales
        a, b = op.inputs[0], op.inputs[1]
        sa = t.get(a)
        if not is_per_tensor(sa):
            return False
        if isinstance(op, O.Add):
            if a.type.dtype is not b.type.dtype:
                return False
            try:
                acc = t.set(op.output, t.shared(op, [sa, t.get(b)]))
            except UnsupportedError:
                return False
            a_in, b_in = self._q_inputs(a, sa), self._q_inputs(b, t.get(b))
            op_type, attrs, extra = "QLinearAdd", {"domain": "com.microsoft"}, []
        else:
            const = self.g.constant_value(b) is not None
            if isinstance(op, O.Gemm) and (len(op.inputs) > 2 or op.trans_a):
                return False  # QLinearMatMul has no bias: MatMulInteger + DQ/Q instead
            if not isinstance(op, O.Conv2d) and a.type.dtype is I8 and b.type.dtype is U8:
                return False  # not implemented by onnxruntime
            if isinstance(op, O.Conv2d) and (not const or (len(op.inputs) > 2 and
                                                          op.inputs[2].type.dtype is not I32)):
                return False
            if const:
                plan = t.layer(op, sa)
                if plan is None:
                    return False
                w_scale, acc = plan
            else:
                w_scale = t.get(b)
                if not is_per_tensor(w_scale):
                    return False
                acc = t.set(op.output, ValueScale((sa.scales[0] * w_scale.scales[0],)))
            transform = None
            if isinstance(op, O.Gemm) and op.trans_b:
                transform = lambda m: np.ascontiguousarray(m.T)  # noqa: E731
                if len(w_scale.scales) > 1:
                    w_scale = ValueScale(w_scale.scales, 0, 1)
            if len(w_scale.scales) > 1 and not isinstance(op, O.Conv2d) and b.type.rank != 2:
                return False
            a_in = self._q_inputs(a, sa)
            b_in = self._q_inputs(b, w_scale, transform, f"{b.name}.T" if transform else None)
            if transform is not None and not const:
                b_in[0] = self.w.op("Transpose", b_in[0], perm=[1, 0])
            extra = []
            if isinstance(op, O.Conv2d):
                op_type = "QLinearConv"
                attrs = dict(kernel_shape=list(b.type.shape[2:]), strides=list(op.strides),
                             pads=list(op.pads), dilations=list(op.dilations),
                             group=int(op.group))
                if len(op.inputs) > 2:
                    extra = [self.value(op.inputs[2])]
            else:
                op_type, attrs = "QLinearMatMul", {}
        y_scale = t.rescaled(rs, acc)
        if not is_per_tensor(y_scale):
            return False  # (the scale bookkeeping above is harmless: same values)
        y = rs.output
        rank = y.type.rank
        channels = rs.channels(y.type.shape)
        axis = rs.axis % rank if rank else 0
        lo, hi = rs.bounds(channels)
        dlo, dhi = dtype_bounds(y.type.dtype)
        need = bool(np.any(lo > dlo) or np.any(hi < dhi))
        target = self.out_name(y)
        y_in = [self.w.const(np.float32(y_scale.scales[0]), "scale"),
                self.w.const(np.asarray(y_scale.zero_point, y.type.dtype.numpy), "zero_point")]
        result = self.w.op(op_type, *a_in, *b_in, *y_in, *extra, name=op.name,
                           out=None if need else target, **attrs)
        if need:
            self.clamp(result, lo, hi, y.type.dtype, rank, axis, target)
        self.define(y, target)
        self.skip.add(id(rs))
        return True

    def _q_inputs(self, v: Value, scale: ValueScale, transform=None, base: str | None = None):
        const = self.g.constant_value(v)
        if const is not None and transform is not None:
            tensor = self.w.const(transform(np.asarray(const, v.type.dtype.numpy)), base or v.name)
        else:
            tensor = self.value(v)
        s, zp, _ = quant_params(scale, v.type.dtype.numpy)
        return [tensor, self.w.const(s, "scale"), self.w.const(zp, "zero_point")]
