"""The integer-operator form, ``qop_requant=exact``: integer tensors end to end, and
the arithmetic of n2d2c/ir/ops/quant.py spelled with integer ONNX operators.

ConvInteger / MatMulInteger give the i32 accumulator (16-bit operands are split
into a signed high byte and an unsigned low byte, four products recombined in
int64), the bias is an integer Add, and ``quantize`` / ``rescale`` /
``dequantize`` and integer average pooling are spelled with int64 and double
ONNX arithmetic that reproduces the reference (``n2d2c/ir/integer.py``) bit for
bit:

* round half away from zero: ``r = Cast<int64>(t)`` (truncates), ``d = t - r``
  (exact), ``r += (d >= 0.5) - (d <= -0.5)`` (``integer.round_half_away``);
* ``(v * m + half) >> p`` (every integer mode, with ``m = 1`` for single-shift
  and ``m = 1 + 2**l`` for double-shift): ``t = v * m + half``,
  ``(t - Mod(t, 2**p)) / 2**p`` (``Mod`` with fmod=0 takes the divisor's sign,
  so the difference is an exact multiple and ``Div`` an exact floor;
  ``integer.shift_round_half_up``);
* saturation with Clip / Max / Min in int64 before the final Cast.

The ``qlinear`` flavour (``qop_qlinear.py``) builds on this exporter.
"""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir import Operation, Value
from ...ir import ops as O
from ...ir.integer import dtype_bounds, saturated_bounds
from ...ir.ops.quant import per_channel
from ...ir.types import DType
from .int_softmax import integer_softmax
from .lookup import gather_table
from .lowering import Exporter
from .scales import channel_array
from .writer import DOUBLE, FLOAT, INT32, INT64, ONNX_DTYPES

I64, I32, I16, I8, U8 = DType.I64, DType.I32, DType.I16, DType.I8, DType.U8
EIGHT_BITS = (I8, U8)

#: Integer element types onnxruntime's CPU kernels accept, per operator; other
#: integers are widened (to int32, or float for MaxPool, exact below 2**24).
_NATIVE = {
    "MaxPool": (I8, U8),
    "ReduceMax": (I8, U8, I32, I64),
    "Clip": (I8, U8, I32, I64),
    "Max": (I8, U8, I32, I64),
    "Min": (I8, U8, I32, I64),
    "Pad": (I8, U8, I32, I64),
}
MOVE_OPS = (O.Reshape, O.Transpose, O.Slice, O.Split, O.Concat, O.Identity, O.Dropout)


class QopExporter(Exporter):
    form = "qop"
    requant = "exact"

    def integer_handler(self, op: Operation):
        table = {O.Quantize: self._quantize, O.Dequantize: self._dequantize,
                 O.Rescale: self._rescale, O.Conv2d: self._conv, O.Gemm: self._gemm,
                 O.MatMul: self._matmul, O.Add: self._add, O.Sub: self._add,
                 O.Mul: self._add, O.MaxPool2d: self._max_pool,
                 O.AvgPool2d: self._avg_pool, O.GlobalAvgPool: self._global_avg_pool,
                 O.GlobalMaxPool: self._global_max_pool, O.Pad: self._pad_int,
                 O.Relu: self._relu_int, O.Clip: self._clip_int, O.Max: self._min_max_int,
                 O.Min: self._min_max_int, O.Lookup: self._lookup,
                 O.IntSoftmax: self._int_softmax}
        handler = table.get(type(op))
        if handler is None and (isinstance(op, MOVE_OPS) or
                                (isinstance(op, O.Resize) and op.mode == "nearest")):
            handler = self._move  # a nearest resize copies levels
        return handler

    # -- small helpers -----------------------------------------------------------------------
    def cast(self, x: str, dtype: DType | int, out: str | None = None) -> str:
        to = ONNX_DTYPES[dtype] if isinstance(dtype, DType) else dtype
        return self.w.op("Cast", x, out=out, to=to)

    def i64(self, value) -> str:
        return self.w.const(np.asarray(value, np.int64), "i64")

    def f64(self, value) -> str:
        return self.w.const(np.asarray(value, np.float64), "f64", dtype=np.float64)

    def define(self, v: Value, name: str) -> None:
        self.tensors[id(v)] = name

    def out_name(self, v: Value) -> str:
        return self.w.claim(v.name)

    def widened(self, x: str, dtype: DType, kind: str) -> tuple[str, DType]:
        """``x`` in a type onnxruntime's ``kind`` kernel accepts."""
        if dtype in _NATIVE[kind]:
            return x, dtype
        work = DType.F32 if kind == "MaxPool" else I32
        return self.cast(x, work), work

    def narrowed(self, op_type: str, inputs, work: DType, dtype: DType, out: str, **attrs) -> str:
        """Run ``op_type`` in ``work`` and write ``out`` in ``dtype``."""
        if work is dtype:
            return self.w.op(op_type, *inputs, out=out, **attrs)
        return self.cast(self.w.op(op_type, *inputs, **attrs), dtype, out)

    def round_half_away(self, t: str) -> str:
        """int64 ``round_half_away(t)`` of a double tensor (|t| < 2**62): the ONNX
        spelling of ``n2d2c.ir.integer.round_half_away``."""
        r = self.cast(t, INT64)
        d = self.w.op("Sub", t, self.cast(r, DOUBLE))
        up = self.cast(self.w.op("GreaterOrEqual", d, self.f64(0.5)), INT64)
        down = self.cast(self.w.op("LessOrEqual", d, self.f64(-0.5)), INT64)
        return self.w.op("Sub", self.w.op("Add", r, up), down)

    def clamp(self, x: str, lo: np.ndarray, hi: np.ndarray, dtype: DType, rank: int, axis: int,
              out: str | None, *, always: bool = False) -> str:
        """Saturate ``x`` (of ``dtype``) to per-channel bounds; ``out`` gets the result
        (an Identity when nothing needs clamping and ``out`` is given)."""
        channels = len(lo)
        dlo, dhi = dtype_bounds(dtype)
        need = always or bool(np.any(lo > dlo) or np.any(hi < dhi))
        if not need:
            return x if out is None else self.w.op("Identity", x, out=out)
        if np.all(lo == lo[0]) and np.all(hi == hi[0]):
            xw, work = self.widened(x, dtype, "Clip")
            lo_c = self.w.const(np.asarray(lo[0], work.numpy), "lo")
            hi_c = self.w.const(np.asarray(hi[0], work.numpy), "hi")
            return self.narrowed("Clip", [xw, lo_c, hi_c], work, dtype,
                                 out or self.w.fresh("clamp"))
        xw, work = self.widened(x, dtype, "Max")
        lo_c = self.w.const(channel_array(lo, channels, rank, axis, work.numpy), "lo")
        hi_c = self.w.const(channel_array(hi, channels, rank, axis, work.numpy), "hi")
        t = self.w.op("Max", xw, lo_c)
        return self.narrowed("Min", [t, hi_c], work, dtype, out or self.w.fresh("clamp"))

    # -- quantize / dequantize -------------------------------------------------------------
    def _quantize(self, op: O.Quantize) -> None:
        x, y = op.inputs[0], op.output
        dtype = y.type.dtype
        out = self.out_name(y)
        lo, hi = dtype_bounds(dtype)
        zp = int(op.zero_point)
        t = self.w.op("Div", self.cast(self.value(x), DOUBLE), self.f64(float(op.scale)),
                      name=op.name)
        t = self.w.op("Where", self.w.op("IsNaN", t), self.f64(0.0), t)
        # (bounds kept within int64 so that the Cast below is defined)
        t = self.w.op("Clip", t, self.f64(max(lo - zp - 1, -2**62)),
                      self.f64(min(hi - zp + 1, 2**62)))
        r = self.round_half_away(t)
        if zp:
            r = self.w.op("Add", r, self.i64(zp))
        r = self.w.op("Clip", r, self.i64(lo), self.i64(hi))
        self.define(y, self.cast(r, dtype, out))

    def _dequantize(self, op: O.Dequantize) -> None:
        x, y = op.inputs[0], op.output
        out = self.out_name(y)
        t = self.value(x)
        if op.zero_point:
            t = self.w.op("Sub", self.cast(t, INT64), self.i64(op.zero_point))
        t = self.w.op("Mul", self.cast(t, DOUBLE), self.f64(float(op.scale)), name=op.name)
        self.cast(t, FLOAT, out)
        self.define(y, out)

    # -- rescale ------------------------------------------------------------------------------
    def _rescale(self, op: O.Rescale) -> None:
        x, y = op.inputs[0], op.output
        rank = x.type.rank
        axis = op.axis % rank if rank else 0
        channels = op.channels(x.type.shape)
        dtype = y.type.dtype
        lo, hi = op.bounds(channels)
        zp = int(op.zero_point)

        def chan(values, np_dtype, base):
            return self.w.const(channel_array(values, channels, rank, axis, np_dtype), base)

        v = self.cast(self.value(x), INT64)
        if op.input_zero_point:
            v = self.w.op("Sub", v, self.i64(op.input_zero_point))
        if op.mode == "floating-point":
            t = self.w.op("Mul", self.cast(v, DOUBLE),
                          chan(per_channel(op.scales, channels, np.float64), np.float64, "scale"),
                          name=op.name)
            # keep the product where Cast<int64> is defined; the clamp below decides anyway
            t = self.w.op("Max", t, chan((lo - zp - 1).astype(np.float64), np.float64, "lo"))
            t = self.w.op("Min", t, chan((hi - zp + 1).astype(np.float64), np.float64, "hi"))
            r = self.round_half_away(t)
        else:
            shifts = per_channel(op.shifts, channels, np.int64)
            if op.mode in ("fixed-point16", "fixed-point32"):
                mult = per_channel(op.multipliers, channels, np.int64)
            elif op.mode == "single-shift":
                mult = np.ones(channels, np.int64)
            else:
                left = per_channel(op.left_shifts, channels, np.int64)
                mult = np.int64(1) + (np.int64(1) << left)
            half = np.where(shifts > 0, np.int64(1) << np.maximum(shifts - 1, 0), 0)
            r = v
            if np.any(mult != 1):
                r = self.w.op("Mul", r, chan(mult, np.int64, "multiplier"), name=op.name)
            if np.any(half != 0):
                r = self.w.op("Add", r, chan(half, np.int64, "half"))
            if np.any(shifts != 0):
                divisor = chan(np.int64(1) << shifts, np.int64, "pow2")
                rem = self.w.op("Mod", r, divisor, fmod=0)
                r = self.w.op("Div", self.w.op("Sub", r, rem), divisor)
        if zp:
            r = self.w.op("Add", r, self.i64(zp))
        r = self.clamp(r, lo, hi, I64, rank, axis, None, always=True)
        self.define(y, self.cast(r, dtype, self.out_name(y)))

    # -- integer products ---------------------------------------------------------------------
    def _byte_parts(self, x: str | np.ndarray, dtype: DType, base: str) -> list[tuple[str, int]]:
        """``x`` as a sum of 8-bit tensors times factors (ConvInteger/MatMulInteger only
        take 8-bit operands): a 16-bit value is ``hi * 256 + lo`` with ``hi`` in int8 and
        ``lo`` in uint8."""
        if isinstance(x, np.ndarray):
            if dtype in EIGHT_BITS:
                return [(self.w.const(x, base), 1)]
            if dtype is not I16:
                raise UnsupportedError(f"integer products of {dtype.value} operands have no "
                                       "ONNX integer operator")
            wide = x.astype(np.int64)
            lo = np.mod(wide, 256)
            hi = (wide - lo) // 256
            return [(self.w.const(hi.astype(np.int8), f"{base}.hi"), 256),
                    (self.w.const(lo.astype(np.uint8), f"{base}.lo"), 1)]
        if dtype in EIGHT_BITS:
            return [(x, 1)]
        if dtype is not I16:
            raise UnsupportedError(f"integer products of {dtype.value} operands have no ONNX "
                                   "integer operator")
        wide = self.cast(x, INT32)
        c256 = self.w.const(np.int32(256), "c256")
        lo = self.w.op("Mod", wide, c256, fmod=0)
        hi = self.w.op("Div", self.w.op("Sub", wide, lo), c256)
        return [(self.cast(hi, I8), 256), (self.cast(lo, U8), 1)]

    def _product(self, op_type: str, a_parts, b_parts, acc: DType, name: str, depth: int,
                 out: str | None = None, **attrs) -> str:
        """Sum of ``op_type`` (ConvInteger/MatMulInteger) over the byte parts, in ``acc``
        (``depth``: terms per output, to keep each byte product within int32)."""
        if len(a_parts) == 1 and len(b_parts) == 1 and acc is I32:
            return self.w.op(op_type, a_parts[0][0], b_parts[0][0], name=name, out=out, **attrs)
        if depth * 255 * 255 > 2**31 - 1:
            raise UnsupportedError(
                f"node '{name}': a 16-bit product over {depth} terms could overflow the int32 "
                f"accumulator of {op_type} (byte by byte)", location=name or None,
                hint="use onnx_format=qdq, or fewer bits")
        total = None
        for a, fa in a_parts:
            for b, fb in b_parts:
                term = self.cast(self.w.op(op_type, a, b, name=name, **attrs), INT64)
                if fa * fb != 1:
                    term = self.w.op("Mul", term, self.i64(fa * fb))
                total = term if total is None else self.w.op("Add", total, term)
        if acc is not I64:
            return self.cast(total, acc, out)
        return total if out is None else self.w.op("Identity", total, out=out)

    def _operand(self, v: Value, base: str, transform=None):
        """(tensor or constant array, dtype) of an integer operand."""
        const = self.g.constant_value(v)
        if const is not None and (transform is not None or v.type.dtype not in EIGHT_BITS):
            array = np.asarray(const, v.type.dtype.numpy)
            return (transform(array) if transform else array), v.type.dtype
        return self.value(v), v.type.dtype

    def _layer(self, op: Operation, op_type: str, a_parts, b_parts, **attrs) -> None:
        """The integer product of ``op`` plus its bias, into the accumulator value."""
        y = op.output
        out = self.out_name(y)
        has_bias = len(op.inputs) > 2
        if isinstance(op, O.Conv2d):
            depth = int(np.prod(op.inputs[1].type.shape[1:]))
        else:
            depth = op.inputs[0].type.shape[0 if getattr(op, "trans_a", False) else -1]
        acc = self._product(op_type, a_parts, b_parts, y.type.dtype, op.name, depth,
                            None if has_bias else out, **attrs)
        if has_bias:
            b = op.inputs[2]
            const = self.g.constant_value(b)
            if isinstance(op, O.Conv2d) and const is not None:
                bias = self.w.const(np.asarray(const, b.type.dtype.numpy).reshape(-1, 1, 1),
                                    f"{b.name}.chw")
            elif isinstance(op, O.Conv2d):
                bias = self.w.op("Reshape", self.value(b), self.ints((-1, 1, 1)))
            else:
                bias = self.value(b)
            if b.type.dtype is not y.type.dtype:
                bias = self.cast(bias, y.type.dtype)
            self.w.op("Add", acc, bias, out=out, name=f"{op.name}/bias")
        self.define(y, out)

    def _conv(self, op: O.Conv2d) -> None:
        x, w = op.inputs[0], op.inputs[1]
        xs, xd = self._operand(x, x.name)
        ws, wd = self._operand(w, w.name)
        attrs = dict(kernel_shape=list(w.type.shape[2:]), strides=list(op.strides),
                     pads=list(op.pads), dilations=list(op.dilations), group=int(op.group))
        self._layer(op, "ConvInteger", self._byte_parts(xs, xd, x.name),
                    self._byte_parts(ws, wd, w.name), **attrs)

    def _gemm(self, op: O.Gemm) -> None:
        a, b = op.inputs[0], op.inputs[1]
        a_t, ad = self._operand(a, a.name)
        if op.trans_a:
            a_t = self.w.op("Transpose", a_t, perm=[1, 0])
        b_t, bd = self._operand(b, b.name, (lambda m: np.ascontiguousarray(m.T))
                                if op.trans_b else None)
        if op.trans_b and not isinstance(b_t, np.ndarray):
            b_t = self.w.op("Transpose", b_t, perm=[1, 0])
        self._layer(op, "MatMulInteger", self._byte_parts(a_t, ad, a.name),
                    self._byte_parts(b_t, bd, f"{b.name}.T" if op.trans_b else b.name))

    def _matmul(self, op: O.MatMul) -> None:
        a, b = op.inputs
        at, ad = self._operand(a, a.name)
        bt, bd = self._operand(b, b.name)
        self._layer(op, "MatMulInteger", self._byte_parts(at, ad, a.name),
                    self._byte_parts(bt, bd, b.name))

    def _add(self, op: O.Add | O.Sub | O.Mul) -> None:
        """Exact in the i32 result type (ir/ops/quant.py), as ONNX's op of that name."""
        y = op.output
        ins = []
        for v in op.inputs:
            t = self.value(v)
            ins.append(t if v.type.dtype is y.type.dtype else self.cast(t, y.type.dtype))
        self.define(y, self.w.op(type(op).__name__, *ins, out=self.out_name(y), name=op.name))

    # -- pooling -----------------------------------------------------------------------------
    def _max_pool(self, op: O.MaxPool2d) -> None:
        x, y = op.inputs[0], op.output
        dtype = x.type.dtype
        xw, work = self.widened(self.value(x), dtype, "MaxPool")
        attrs = dict(kernel_shape=list(op.kernel), strides=list(op.strides), pads=list(op.pads),
                     ceil_mode=int(op.ceil_mode))
        if any(d != 1 for d in op.dilations):
            attrs["dilations"] = list(op.dilations)
        self.define(y, self.narrowed("MaxPool", [xw], work, dtype, self.out_name(y),
                                     name=op.name, **attrs))

    def _global_max_pool(self, op: O.GlobalMaxPool) -> None:
        x, y = op.inputs[0], op.output
        dtype = x.type.dtype
        xw, work = self.widened(self.value(x), dtype, "ReduceMax")
        axes = self.ints(range(2, x.type.rank), "axes")
        self.define(y, self.narrowed("ReduceMax", [xw, axes], work, dtype, self.out_name(y),
                                     name=op.name, keepdims=1))

    def _divide_round(self, total: str, count: np.ndarray, y: Value, name: str) -> None:
        """``y = sign(S) * ((2|S| + n) // (2n))`` (n = 0 gives 0), int64 ``total``: the
        ONNX spelling of ``n2d2c.ir.integer.divide_round_half_away``."""
        n = np.where(count > 0, count, 1).astype(np.int64)
        mag = self.w.op("Div", self.w.op("Add", self.w.op("Mul", self.w.op("Abs", total),
                                                          self.i64(2)),
                                         self.w.const(n, "count")),
                        self.w.const(2 * n, "count2"), name=name)
        neg = self.w.op("Less", total, self.i64(0))
        r = self.w.op("Where", neg, self.w.op("Neg", mag), mag)
        self.define(y, self.cast(r, y.type.dtype, self.out_name(y)))

    def _global_avg_pool(self, op: O.GlobalAvgPool) -> None:
        x, y = op.inputs[0], op.output
        total = self.w.op("ReduceSum", self.cast(self.value(x), INT64),
                          self.ints(range(2, x.type.rank), "axes"), keepdims=1, name=op.name)
        count = int(np.prod(x.type.shape[2:], dtype=np.int64))
        self._divide_round(total, np.asarray(count, np.int64), y, f"{op.name}/round")

    def _avg_pool(self, op: O.AvgPool2d) -> None:
        """Window sums by a depthwise float Conv of ones (exact: integer partial sums
        below 2**24; 16-bit inputs are summed byte by byte), the divisor per output
        position computed here, and the exact rounding division in int64."""
        x, y = op.inputs[0], op.output
        n, c, h, wd = x.type.shape
        oh, ow = y.type.shape[2:]
        (kh, kw), (sh, sw), (dh, dw) = op.kernel, op.strides, op.dilations
        pt, pl, pb, pr = op.pads
        # end pads that make a floor-mode window count give the ceil-mode output size
        pb2 = max(pb, (oh - 1) * sh + dh * (kh - 1) + 1 - h - pt)
        pr2 = max(pr, (ow - 1) * sw + dw * (kw - 1) + 1 - wd - pl)
        ones = self.w.const(np.ones((c, 1, kh, kw), np.float32), f"{op.name}.ones")
        attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=[pt, pl, pb2, pr2],
                     dilations=[dh, dw], group=c)
        parts = self._byte_parts(self.value(x), x.type.dtype, x.name) \
            if x.type.dtype is I16 else [(self.value(x), 1)]
        total = None
        for part, factor in parts:
            s = self.cast(self.w.op("Conv", self.cast(part, FLOAT), ones, name=op.name, **attrs),
                          INT64)
            if factor != 1:
                s = self.w.op("Mul", s, self.i64(factor))
            total = s if total is None else self.w.op("Add", total, s)
        count_h = _window_counts(h, oh, kh, sh, pt, pb, dh, op.count_include_pad)
        count_w = _window_counts(wd, ow, kw, sw, pl, pr, dw, op.count_include_pad)
        count = np.outer(count_h, count_w).reshape(1, 1, oh, ow)
        self._divide_round(total, count, y, f"{op.name}/round")

    # -- data movement and clamps on integers ---------------------------------------------
    def _move(self, op: Operation) -> None:
        ins = [self.value(v) for v in op.inputs]
        outs = [self.out_name(v) for v in op.outputs]
        self.float_node(op, ins, outs)
        for v, name in zip(op.outputs, outs):
            self.define(v, name)

    def _pad_int(self, op: O.Pad) -> None:
        x, y = op.inputs[0], op.output
        dtype = x.type.dtype
        xw, work = self.widened(self.value(x), dtype, "Pad")
        inputs = [xw, self.ints(op.pads, "pads")]
        if op.mode == "constant":
            lo, hi = dtype_bounds(dtype)
            inputs.append(self.w.const(np.asarray(min(max(round(op.value), lo), hi), work.numpy),
                                       "pad_value"))
        self.define(y, self.narrowed("Pad", inputs, work, dtype, self.out_name(y), name=op.name,
                                     mode=op.mode))

    def _lookup(self, op: O.Lookup) -> None:
        self.define(op.output, gather_table(self, op))

    def _int_softmax(self, op: O.IntSoftmax) -> None:
        self.define(op.output, integer_softmax(self, op))

    def _relu_int(self, op: O.Relu) -> None:
        x, y = op.inputs[0], op.output
        dtype = x.type.dtype
        xw, work = self.widened(self.value(x), dtype, "Max")
        zero = self.w.const(np.asarray(0, work.numpy), "zero")
        self.define(y, self.narrowed("Max", [xw, zero], work, dtype, self.out_name(y),
                                     name=op.name))

    def _clip_int(self, op: O.Clip) -> None:
        x, y = op.inputs[0], op.output
        dtype = x.type.dtype
        lo, hi = saturated_bounds(op.min, op.max, dtype.numpy)
        xw, work = self.widened(self.value(x), dtype, "Clip")
        self.define(y, self.narrowed("Clip", [xw, self.w.const(np.asarray(lo, work.numpy), "lo"),
                                              self.w.const(np.asarray(hi, work.numpy), "hi")],
                                     work, dtype, self.out_name(y), name=op.name))

    def _min_max_int(self, op: Operation) -> None:
        y = op.output
        dtype = y.type.dtype
        op_type = "Max" if isinstance(op, O.Max) else "Min"
        ins = []
        work = dtype
        for v in op.inputs:
            t, work = self.widened(self.value(v), dtype, op_type)
            ins.append(t)
        self.define(y, self.narrowed(op_type, ins, work, dtype, self.out_name(y), name=op.name))


def _window_counts(size: int, out: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
                   dilation: int, include_pad: bool) -> np.ndarray:
    """Divisor of an average window along one axis, per output index (as the IR's
    kernel: cells inside the input, or inside the padded input)."""
    counts = np.zeros(out, np.int64)
    for o in range(out):
        start = o * stride - pad_begin
        cells = start + dilation * np.arange(kernel)
        if include_pad:
            counts[o] = int(np.sum((cells >= -pad_begin) & (cells < size + pad_end)))
        else:
            counts[o] = int(np.sum((cells >= 0) & (cells < size)))
    return counts
