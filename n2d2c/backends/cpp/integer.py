"""The int8 kernels of the C++ target: how CppEmitter prepares them (a mixin).

``IntegerKernels`` chooses and packs the int8 kernels of ``templates/cpp/``:
``conv2d_i8`` (register tiles over 4-byte groups of taps, VNNI ``vpdpbusd`` where the
compiler has it, portable vector code elsewhere; 1x1 convolutions and dense layers are
the same kernel) and ``depthwise_int`` (8-bit depthwise), each with its int32
requantization fused (``requant32.py``).  A layer none of them takes falls back to the
generic C kernels (``c/templates/generic/``) through ``super()``, which resolves to
CEmitter in CppEmitter's method order.
"""

from __future__ import annotations

import numpy as np

from ..c.emitter import Ctx
from ..c.kernel_memory import ELEMENTWISE, NONE, ROWS, KernelMemory
from ..c.program import KernelCall, Layer
from .requant32 import requant32_tables, requant64_tables


def _i8_conv_memory(call: KernelCall, ctx: Ctx) -> KernelMemory:
    """conv2d_i8: row-ordered for a convolution (it reads its input in place); a dense layer
    run by the same kernel has no rows to wrap."""
    return ROWS if call.kernel == "conv2d" else NONE


def _contiguous(view) -> bool:
    """Row-major without gaps: element i of the tensor is element i of the storage view."""
    expected, strides = 1, []
    for size in reversed(view.shape):
        strides.append(expected)
        expected *= size
    return all(size == 1 or stride == want
               for size, stride, want in zip(view.shape, view.strides, reversed(strides)))


# Which int8 kernels may share bytes with their input (see c/memory.py).
# quantize_f32 reads each block of 16 values before writing it: element-wise like the
# generic map it replaces.
INTEGER_MEMORY_TRAITS: dict[str, object] = {"conv2d_i8": _i8_conv_memory, "depthwise_int": ROWS,
                                            "quantize_f32": ELEMENTWISE}


class IntegerKernels:
    """The int8 convolution and dense kernels; mixed into CppEmitter before CEmitter."""

    @staticmethod
    def _integer_conv(call: KernelCall) -> bool:
        """int8/uint8 activations x constant int8 weights (+ constant int32 bias) -> int32
        accumulators (stored, or requantized by a fused rescale), no fused activation:
        exact int32 accumulation, as ir/ops/quant.py defines it."""
        wts, bias = call.params.get("weights"), call.params.get("bias")
        x, y = call.reads["x"], call.writes["y"]
        c, m = x.shape[1], y.shape[1]
        group = call.params["group"]
        return (wts is not None and wts.dtype == np.int8
                and x.storage.dtype in ("int8", "uint8")
                and call.params.get("acc_dtype", y.storage.dtype) == "int32"
                and call.params.get("act") is None and "b" not in call.reads
                and (bias is None or np.asarray(bias).dtype == np.int32)
                and (group == 1 or (group == c == m)))

    @staticmethod
    def _integer_gemm(call: KernelCall) -> bool:
        """An int8 dense layer: 8-bit rows of A x constant int8 B (+ a constant int32 row
        C) -> int32 accumulators, no scaling, no fused activation."""
        a, b, c = call.reads["a"], call.reads["b"], call.reads.get("c")
        return (a.rank == 2 and a.storage.dtype in ("int8", "uint8") and a.strides[1] == 1
                and b.storage.kind == "const"
                and b.storage.dtype == "int8" and call.params.get("acc_dtype") == "int32"
                and call.params["alpha"] == 1.0
                and (c is None or (call.params["beta"] == 1.0 and c.storage.kind == "const"
                                   and c.strides[0] == 0))
                and call.params.get("act") is None)

    def _prepare_conv2d_int(self, call: KernelCall, layer: Layer):
        k = self._conv_common(call, False)
        x, y = call.reads["x"], call.writes["y"]
        wts = call.params["weights"]
        bias = call.params.get("bias")
        k.layer = layer.name
        k.struct = self.symbol(f"{layer.name}_shape")
        k.xc, k.yc = x.strides[1], y.strides[1]
        self._requant_epilogue_i32(k, call, layer)
        if k.group != 1:
            if k.xc != 1:
                # Channels spaced out: no vector loads of 16 channels.
                return super().prepare_conv2d(call, layer)
            return self._prepare_depthwise_int(k, call, layer, wts, bias)
        if k.dw != 1 or k.xc != 1 or (k.kw != 1 and k.xw != k.c):
            # Taps not contiguous along a row (dilated, channels or pixels spaced out).
            return super().prepare_conv2d(call, layer)
        return self._prepare_conv2d_i8(k, call, layer, wts, bias)

    def prepare_conv_transpose2d(self, call: KernelCall, layer: Layer):
        """An int8 transposed convolution whose kernel equals its stride (no overlapping
        taps) as ONE 1x1 int8 GEMM over KH x KW x M output channels whose store writes
        depth-to-space: channel (ky, kx, m) of input pixel (iy, ix) is channel m of output
        pixel (iy * SH + ky, ix * SW + kx).  Every other one: the generic kernel."""
        k = self._conv_common(call, True)
        wts, bias = call.params.get("weights"), call.params.get("bias")
        x = call.reads["x"]
        if not (self._integer_conv_transpose(call) and (k.kh, k.kw) == (k.sh, k.sw)
                and k.oh == k.height * k.sh and k.ow == k.width * k.sw
                and x.strides[1] == 1):
            return super().prepare_conv_transpose2d(call, layer)
        c, mo = k.c, k.m
        k.d2s = Ctx(m=mo, kw=k.kw, sh=k.sh, sw=k.sw, yh=k.yh, yw=k.yw,
                    yc=call.writes["y"].strides[1])
        k.m = k.kh * k.kw * mo
        k.oh, k.ow = k.height, k.width
        k.kh = k.kw = k.sh = k.sw = 1
        k.pt = k.pl = 0
        k.layer = layer.name
        k.struct = self.symbol(f"{layer.name}_shape")
        k.xc, k.yc = 1, 1
        k.requantize = k.requant_decl = k.requantize16 = None
        # [C, M, KH, KW] -> [(KH, KW, M), C, 1, 1]: one GEMM row per output phase and channel.
        gemm = np.ascontiguousarray(wts.transpose(2, 3, 1, 0)).reshape(k.m, c, 1, 1)
        gbias = None if bias is None else np.tile(np.asarray(bias, np.int32), k.m // mo)
        return self._prepare_conv2d_i8(k, call, layer, gemm, gbias)

    @staticmethod
    def _integer_conv_transpose(call: KernelCall) -> bool:
        """8-bit activations x constant int8 weights (+ int32 bias) -> int32 accumulators,
        group 1, no dilation, no padding, no fused activation."""
        wts, bias = call.params.get("weights"), call.params.get("bias")
        x, y = call.reads["x"], call.writes["y"]
        return (wts is not None and wts.dtype == np.int8
                and x.storage.dtype in ("int8", "uint8") and y.storage.dtype == "int32"
                and call.params.get("act") is None and "b" not in call.reads
                and (bias is None or np.asarray(bias).dtype == np.int32)
                and call.params["group"] == 1 and tuple(call.params["dilations"]) == (1, 1)
                and not any(call.params["pads"]))

    def _prepare_depthwise_int(self, k: Ctx, call: KernelCall, layer: Layer, wts, bias):
        """The 8-bit depthwise kernel (depthwise_int.j2): weights [CP/16][KH][KG][16][4], the
        taps of a kernel row 4 by 4 (the missing ones 0), bias padded to CP."""
        k.signed = k.xt == self.ctype("int8")
        k.cp = -(-k.m // 16) * 16
        k.kg = -(-k.kw // 4)
        taps = np.zeros((k.cp, k.kh, 4 * k.kg), np.int8)
        taps[:k.m, :, :k.kw] = wts.reshape(k.m, k.kh, k.kw)
        packed = taps.reshape(k.cp // 16, 16, k.kh, k.kg, 4).transpose(0, 2, 3, 1, 4)
        k.w = self.add_const(f"w_{layer.name}", packed,
                             f"weights of {layer.name}, depthwise int8 [CP/16][KH][KG][16][4]")
        b = np.zeros(k.cp, np.int64)
        if bias is not None:
            b[:k.m] = np.asarray(bias, np.int64)
        if k.signed:
            # Activations are loaded plus 128: take 128 x the sum of the weights back.
            b[:k.m] -= 128 * wts.reshape(k.m, -1).astype(np.int64).sum(axis=1)
        k.b = self.add_const(f"b_{layer.name}", b.astype(np.int32),
                             f"bias of {layer.name}, padded to {k.cp}"
                             + (", minus 128 x the weight sums" if k.signed else ""))
        k.pragma = self.parallel_for(k.oh * k.ow * k.m * k.kh * k.kw)
        k.region, k.loop = self.parallel_region(k.oh * k.ow * k.m * k.kh * k.kw)
        return "depthwise_int", k

    def _prepare_conv2d_i8(self, k: Ctx, call: KernelCall, layer: Layer, wts, bias):
        """The int8 register-tiled kernel (conv2d_i8.j2) for a convolution or a dense layer
        (a 1-row image whose pixels are its rows)."""
        m, c, kh, kw = wts.shape
        k.setdefault("d2s", None)   # a transposed convolution's store (above), or none
        k.signed = k.xt == self.ctype("int8")
        k.kr = -(-(kw * c) // 4) * 4
        k.mp = -(-m // 16) * 16
        rows = np.zeros((k.mp, kh, k.kr), np.int8)
        rows[:m, :, :kw * c] = wts.transpose(0, 2, 3, 1).reshape(m, kh, kw * c)
        packed = rows.reshape(k.mp // 16, 16, kh, k.kr // 4, 4).transpose(0, 2, 3, 1, 4)
        k.w = self.add_const(f"w_{layer.name}", packed,
                             f"weights of {layer.name}, int8 [M/16][KH][KR/4][16][4]")
        b = np.zeros(k.mp, np.int64)
        if bias is not None:
            b[:m] = np.asarray(bias, np.int64)
        if k.signed:
            # Activations are stored plus 128: take 128 x the sum of the weights back.
            b[:m] -= 128 * wts.reshape(m, -1).astype(np.int64).sum(axis=1)
        k.b = self.add_const(f"b_{layer.name}", b.astype(np.int32),
                             f"bias of {layer.name}, padded to {k.mp}"
                             + (", minus 128 x the weight sums" if k.signed else ""))
        # No padded copy: the kernel reads the input in place, padding implicitly (see
        # conv2d_i8.j2), so its output may wrap over the input (memory trait rows).
        k.region, k.loop = self.parallel_region(k.oh * k.ow * k.m * k.c * k.kh * k.kw,
                                                collapse=2)
        return "conv2d_i8", k

    def _prepare_dense_i8(self, call: KernelCall, layer: Layer):
        """An int8 dense layer as the int8 convolution of a 1-row image whose pixels are the
        rows of A (a 1x1 kernel over K channels)."""
        a, b, y = call.reads["a"], call.reads["b"], call.writes["y"]
        c = call.reads.get("c")
        rows, kk = a.shape
        n = b.shape[1]
        k = Ctx(x=self.operand("x", a), y=self.operand("y", y), n=1, c=kk, m=n, height=1,
                width=rows, oh=1, ow=rows, kh=1, kw=1, sh=1, sw=1, dh=1, dw=1, pt=0, pl=0,
                xn=0, xh=0, xw=a.strides[0], xc=a.strides[1], yn=0, yh=0, yw=y.strides[0],
                yc=y.strides[1], xt=self.ctype(a.storage.dtype), yt=self.ctype(y.storage.dtype),
                ydtype=y.storage.dtype, group=1, layer=layer.name,
                struct=self.symbol(f"{layer.name}_shape"))
        self._requant_epilogue_i32(k, call, layer)
        wts = self.const_data(b).T.reshape(n, kk, 1, 1)
        bias = self.const_data(c)[0] if c is not None else None
        return self._prepare_conv2d_i8(k, call, layer, wts, bias)

    def prepare_map(self, call: KernelCall, layer: Layer):
        """A quantize of a whole contiguous float32 tensor: quantize_f32.j2 (16 values at a
        time, multiplying by 1 / scale where that rounds alike); any other map: generic."""
        y = call.writes["y"]
        (x,) = call.reads.values() if len(call.reads) == 1 else (None,)
        if (call.params["fn"] != "quantize" or x is None or x.storage.dtype != "float32"
                or y.storage.dtype not in ("int8", "uint8", "int16", "uint16")
                or x.shape != y.shape or not _contiguous(x) or not _contiguous(y)):
            return super().prepare_map(call, layer)
        info = np.iinfo(np.dtype(y.storage.dtype))
        total = int(np.prod(y.shape))
        block = 1024
        return "quantize_f32", Ctx(
            x=self.operand("x", x), y=self.operand("y", y), total=total, block=block,
            blocks=-(-total // block), scale=repr(float(call.params["scale"])),
            z=self.int_literal(call.params["zero_point"], "int64"),
            lo=self.int_literal(info.min, "int64"), hi=self.int_literal(info.max, "int64"),
            pragma=self.parallel_for(total // 4))

    def _requant_epilogue_i32(self, k: Ctx, call: KernelCall, layer: Layer) -> None:
        """The fused rescale of the int32 accumulators of conv2d_i8 / depthwise_int: in int32
        arithmetic where requant32.py proves it exact (macro requantize_i32), else the
        generic int64 function."""
        self._requant_epilogue(k, call, layer)
        k.requantize16 = None     # the vector form of 16 channels (requantize_*x16)
        op = call.params.get("rescale")
        if op is None:
            return
        facts = requant32_tables(op, k.m)
        if facts is None:
            self._requant_epilogue_i64x16(k, op, layer)
            return
        k.requantize = self.symbol(f"{layer.name}_requantize32")
        k.requantize16 = f"{k.requantize}_16"
        facts["z"] = [int(op.zero_point)]
        tables, vector = self._channel_parameters(facts, k.requantize, lambda key: "int32")
        spelled = {p["key"]: p["literal"] if p["symbol"] is None else f"{p['symbol']}[c]"
                   for p in vector}
        k.requant_decl = self.spell("requantize_i32", {
            "name": k.requantize, "yt": self.ctype(k.ydtype), "varying": bool(tables),
            "comment": f"{op.name}: {op.mode} rescale to {op.dtype}", "tables": tables,
            "vector": vector, **spelled})

    def _channel_parameters(self, facts: dict[str, list[int]], prefix: str, dtype_of):
        """The per-channel parameters of a requantize macro: a literal where every channel
        agrees, else a table ``prefix_key`` of ``dtype_of(key)`` values.  Returns (tables,
        params): tables (symbol, ctype, values) and one entry per key (key, symbol or
        None, literal or ctype)."""
        tables, params = [], []
        for key, values in facts.items():
            dtype = dtype_of(key)
            if len(set(values)) == 1:
                params.append({"key": key, "symbol": None,
                               "literal": self.int_literal(values[0], dtype)})
            else:
                symbol, ctype = f"{prefix}_{key}", self.ctype(dtype)
                tables.append({"symbol": symbol, "ctype": ctype,
                               "values": [self.int_literal(v, dtype) for v in values]})
                params.append({"key": key, "symbol": symbol, "ctype": ctype})
        return tables, params

    def _requant_epilogue_i64x16(self, k: Ctx, op, layer: Layer) -> None:
        """Next to the generic int64 rescale k.requantize (too wide for int32), its vector
        form of 16 channels in int64 lanes (macro requantize_i64x16), when requant32.py
        covers the mode."""
        facts = requant64_tables(op, k.m)
        if facts is None:
            return
        k.requantize16 = self.symbol(f"{layer.name}_requantize64_16")
        # Multipliers fit int32 (requant64_tables checks it): their table is half as wide.
        tables, params = self._channel_parameters(
            facts, k.requantize16, lambda key: "int32" if key == "m" else "int64")
        k.requant_decl = k.requant_decl + "\n" + self.spell("requantize_i64x16", {
            "name": k.requantize16, "yt": self.ctype(k.ydtype), "tables": tables,
            "vector": params, "varying": bool(tables),
            "comment": f"{op.name}: {op.mode} rescale to {op.dtype}"})


__all__ = ["INTEGER_MEMORY_TRAITS", "IntegerKernels"]
