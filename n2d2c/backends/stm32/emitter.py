"""The Cortex-M target: a C99 CEmitter for a bare-metal MCU, its project files and DSP dots.

Overrides, and why:

* the project: startup code (vector table, reset handler), two linker scripts (the
  chip's for ``make``, the QEMU board's for ``make qemu``), a Makefile for
  arm-none-eabi-gcc, and a testbench (``main.c``) that runs the test vectors compiled
  into flash (``vectors.c``: stimuli and the integer simulator's outputs) and prints
  outputs and PASS/FAIL through semihosting; no malloc, no stdio;
* the arena: one static array, in ``.bss`` or in the section ``arena_section`` names
  (the linker scripts place it in RAM, NOLOAD), aligned to 8 bytes only (64-byte cache
  lines mean nothing on an MCU and cost RAM);
* kernels, on cores with the DSP extension (two 16-bit multiply-adds per ``__smlad``):
  an int8 dense convolution (group 1) and an int8 dense layer (a 1x1 convolution of a
  one-row image whose pixels are the rows of A) have a kernel of their own
  (templates/stm32/conv_dsp.j2: each pixel's window extended once into 16-bit lanes in
  a scratch, blocks of 2 output channels x 2 pixels, weights repacked here); so does an
  int8 depthwise convolution (templates/stm32/depthwise_dsp.j2: four channels per
  32-bit load, weights repacked into 16-bit lanes here); other grouped convolutions
  reduce contiguous channels through the ``conv_dot`` spelling macro of the generic
  convolution (templates/stm32/spelling.j2); int8 max pooling takes four channels per
  word (templates/stm32/pool_max_dsp.j2: SSUB8/USUB8 and SEL);
* a size report (sizes.py) that refuses a network the chip cannot hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ...errors import ResourceLimitError, UsageError
from ..c import io_types
from ..c.emitter import CEmitter, Ctx
from ..c.formatting import c_const_definition
from ..c.kernel_memory import ROWS
from ..c.program import KernelCall, Layer
from . import sizes
from .cores import DEFAULT_CORE, get_core

STM32_TEMPLATES = Path(__file__).parent / "templates" / "stm32"


def _interior(out: int, size: int, kernel: int, stride: int, pad: int,
              dilation: int) -> tuple[int, int]:
    """[lo, hi): the outputs along one axis whose window lies inside [0, size)."""
    inside = [o for o in range(out)
              if o * stride - pad >= 0 and o * stride - pad + (kernel - 1) * dilation < size]
    return (inside[0], inside[-1] + 1) if inside else (0, 0)


class Stm32Emitter(CEmitter):
    target: ClassVar[str] = "stm32"
    template_dirs: ClassVar[tuple[Path, ...]] = (STM32_TEMPLATES,) + CEmitter.template_dirs
    # The C99 project's files (templates/stm32 overrides several of them) plus the
    # firmware's own.
    file_templates: ClassVar[dict[str, str]] = {
        **CEmitter.file_templates,
        "vectors.h": "files/vectors.h.j2",
        "vectors.c": "files/vectors.c.j2",
        "startup.c": "files/startup.c.j2",
        "stm32.ld": "files/target.ld.j2",
        "qemu.ld": "files/qemu.ld.j2",
        "README.md": "files/README.md.j2",
        "size_check.sh": "files/size_check.sh.j2",
        "profile.c": "files/profile.c.j2",
        "qemu_profile.sh": "files/qemu_profile.sh.j2",
    }
    # Files of -X profile=1 builds only.
    PROFILE_FILES: ClassVar[tuple[str, ...]] = ("profile.c", "qemu_profile.sh")
    # conv_dsp writes output rows in increasing order, each from its window (ROWS), as the
    # generic convolution does; a dense layer's call has no x/y rows to relate.
    MEMORY_TRAITS: ClassVar[dict[str, object]] = {
        **CEmitter.MEMORY_TRAITS, "conv_dsp": ROWS,
        "pool_max_dsp": CEmitter.MEMORY_TRAITS["pool2d"]}
    compiler: ClassVar[str] = "arm-none-eabi-gcc"
    alignment: ClassVar[int] = 8

    def __init__(self, program, *, plan=None, mcu: str = DEFAULT_CORE,
                 arena_section: str = ".bss", flash_kib: int = 0, ram_kib: int = 0,
                 stack: int = 4096, vectors=1, check_size: bool = True, io: str = "float",
                 profile: bool = False):
        self.core = get_core(mcu, flash_kib, ram_kib)
        # io=integer was applied to the graph before lowering (prepare_graph, __init__.py);
        # here it only chooses the random test vectors.
        self.io = io
        self.profile = bool(profile)
        super().__init__(program, plan=plan)
        self.arena_section = str(arena_section).strip() or ".bss"
        self.stack = int(stack)
        self.vector_spec = vectors
        self.check_size = bool(check_size)
        self.vectors: list[tuple[dict, dict]] = []
        self.size_report: sizes.SizeReport | None = None

    # -- per-layer profiling (-X profile=1: templates/stm32/files/profile.c.j2) ----------
    def profile_mark(self, index: int) -> str:
        return f"n2d2c_profile_mark({index});" if self.profile else ""

    @property
    def profile_layers(self) -> list[str]:
        """The layers network_run calls, in order: what mark i starts."""
        return [self.layer_symbol(layer) for layer, _ in self.code_layers]

    def layer_attributes(self) -> str:
        # GCC 12 -O2 inlines every layer (each called once) into network_run, and the
        # register allocation of that one big function costs: 10 % more instructions on
        # LeNet, 7 % on the digits CNN (benchmarks/cortex_m.py, with and without).
        return "__attribute__((noinline)) "

    # -- the arena in its section ------------------------------------------------------
    def arena_attributes(self) -> str:
        if self.arena_section == ".bss":
            return self.align()
        return f'__attribute__((aligned({self.alignment}), section("{self.arena_section}")))'

    def arena_decl(self) -> str:
        if self.byte_arena:
            decl = f"static unsigned char arena[{self.arena_bytes_declared}] "
        else:
            decl = f"static {self.float_t} arena[{self.arena_elements()}] "
        return decl + f"{self.arena_attributes()};" + self.external_decls()

    # -- DSP reductions --------------------------------------------------------------
    def _dsp_dot(self, k: Ctx) -> bool:
        """Can the reduction over k.cg channels be 2x16-bit multiply-adds?  int8/uint8
        activations, int8 weights contiguous along channels, exact int32 accumulators,
        at least one group of four channels."""
        return (self.core.dsp and k.xt in ("int8_t", "uint8_t") and k.wt == "int8_t"
                and k.acct == "int32_t" and k.wc == 1 and k.cg >= 4)

    def prepare_conv2d(self, call: KernelCall, layer: Layer):
        dw = self._prepare_depthwise(call, layer)
        if dw is not None:
            return dw
        wts = call.params.get("weights")
        if self.core.dsp and wts is not None:
            k = self._conv_common(call, False)
            if (k.group == 1 and k.xt in ("int8_t", "uint8_t") and k.wt == "int8_t"
                    and k.acct == "int32_t"):
                # OHWI, one row of K = kh*kw*C weights per output channel.
                k.b = self._bias(call, layer)
                self._requant_epilogue(k, call, layer)
                return self._prepare_conv_dsp(k, np.asarray(wts).transpose(0, 2, 3, 1)
                                              .reshape(k.m, -1), layer)
        name, k = super().prepare_conv2d(call, layer)
        k.dsp = self._dsp_dot(k)
        return name, k

    @staticmethod
    def _conv_dsp_unroll(groups: int) -> int:
        """Groups of four values per pass of conv_dsp.j2's reduction loop: the loop costs
        four instructions a pass (two pointer increments, compare, branch) next to fifteen
        per group; four groups a pass, or three or two when that divides the count (no
        remainder code), else four and the rest after the loop."""
        return next((u for u in (4, 3, 2) if groups % u == 0), min(groups, 4))

    def _prepare_conv_dsp(self, k: Ctx, weights: np.ndarray, layer: Layer):
        """("conv_dsp", ctx): templates/stm32/conv_dsp.j2 with ``weights`` [M][K] int8
        (K: one pixel's window in NHWC order) repacked per block of q output channels,
        per group of four values, the q channels' four bytes: [Mq/q][K4/4][q][4], K
        padded to K4 (a multiple of four) and M to Mq (a multiple of q) with zeros; and
        the scratch of two pixels' windows (K4 int32 words; half for rows of one pixel)
        in the arena."""
        m, kk = weights.shape
        # Blocks of q = 2 channels x 2 pixels (x 1 pixel at the end of an odd row, and
        # for a one-row dense layer).  The template takes q = 4 as well, but 4 channels x
        # 1 pixel measured worse on the 256->120 dense layer (1.60 against 1.45
        # instructions per MAC: GCC 12 spills the extended weights).
        k.q = 2
        k4, mq = -(-kk // 4) * 4, -(-m // k.q) * k.q
        packed = np.zeros((mq, k4), np.int8)
        packed[:m, :kk] = weights
        packed = packed.reshape(mq // k.q, k.q, k4 // 4, 4).transpose(0, 2, 1, 3)
        k.wq = self.add_const(f"w_{layer.name}", packed,
                              f"weights of {layer.name}, [M/{k.q}][K/4][{k.q}][4] (OHWI rows "
                              f"interleaved by blocks of {k.q} channels)")
        k.k4 = k4
        # Scratch words per group of four values: two per pixel, of two pixels where a
        # row has two.
        k.gw = 4 if k.ow >= 2 else 2
        k.col = self.pointer(self.scratch(layer, "col", k4 // 4 * k.gw, "int32"))
        k.unroll = self._conv_dsp_unroll(k4 // 4)
        # Windows of up to this many values with C % 4 != 0 (first layers: 5x5x1, 3x3x3)
        # are copied fully unrolled: two instructions a value instead of about ten
        # (digits CNN's 3x3x1 conv1: 5.0 -> see benchmarks/RESULTS.md).
        k.unrolled_window = 64
        return "conv_dsp", k

    def _prepare_depthwise(self, call: KernelCall, layer: Layer):
        """("depthwise_dsp", ctx) for an int8/uint8 depthwise convolution with constant
        int8 weights and int32 accumulators on a DSP core, else None.  The generic
        kernel reduces one channel per output (cg == 1), which conv_dot cannot pack;
        this one packs four output channels instead.  Weights: per group of four
        channels, per tap, the int16 pairs (w[c], w[c+2]) and (w[c+1], w[c+3]) as
        32-bit words (low lane first), the lanes SXTB16 gives the input in."""
        wts = call.params.get("weights")
        if not self.core.dsp or wts is None:
            return None
        k = self._conv_common(call, False)
        if not (k.group == k.c == k.m and k.c >= 4 and k.xt in ("int8_t", "uint8_t")
                and k.wt == "int8_t" and k.acct == "int32_t"):
            return None
        taps = k.kh * k.kw
        w = np.asarray(wts, np.int64).reshape(k.c, taps)
        groups = k.c // 4
        quads = w[:4 * groups].reshape(groups, 4, taps).transpose(0, 2, 1)  # [g][tap][4]
        words = (quads[..., [0, 1]] & 0xFFFF) | (quads[..., [2, 3]] << 16)  # lanes c, c+2
        k.wq = self.add_const(f"w_{layer.name}",
                              (words & 0xFFFFFFFF).astype(np.uint32).view(np.int32),
                              f"weights of {layer.name}, [C/4][tap][2] int16 pairs")
        k.tail = k.c - 4 * groups
        k.wt_tail = (self.add_const(f"wt_{layer.name}", w[4 * groups:].astype(np.int8),
                                    f"weights of {layer.name}'s last {k.tail} channels")
                     if k.tail else None)
        # Interior output rows/columns: the whole window inside the image.
        k.oh_lo, k.oh_hi = _interior(k.oh, k.height, k.kh, k.sh, k.pt, k.dh)
        k.ow_lo, k.ow_hi = _interior(k.ow, k.width, k.kw, k.sw, k.pl, k.dw)
        k.interior_taps = [f"xp + c + {i * k.dh * k.xh + j * k.dw * k.xw}"
                           for i in range(k.kh) for j in range(k.kw)]
        k.border_taps = [f"t{t} + c" for t in range(taps)]
        k.b = self._bias(call, layer)
        self._requant_epilogue(k, call, layer)
        return "depthwise_dsp", k

    def prepare_gemm(self, call: KernelCall, layer: Layer):
        a, b, y = call.reads["a"], call.reads["b"], call.writes["y"]
        c = call.reads.get("c")
        p = call.params
        dense = (a.rank == 2 and a.storage.dtype in ("int8", "uint8") and a.strides[1] == 1
                 and y.strides[1] == 1 and b.storage.kind == "const"
                 and b.storage.dtype == "int8" and p.get("acc_dtype") == "int32"
                 and p["alpha"] == 1.0
                 and (c is None or (p["beta"] == 1.0 and c.storage.kind == "const"
                                    and c.strides[0] == 0)))
        if not dense or not self.core.dsp:
            return super().prepare_gemm(call, layer)
        # A dense layer is the 1x1 convolution of a one-row image whose pixels are the rows
        # of A and whose channels are K: the generic convolution with weights [N][K].
        rows, kk = a.shape
        n = b.shape[1]
        k = Ctx(x=self.operand("x", a), y=self.operand("y", y), n=1, c=kk, m=n, height=1,
                width=rows, oh=1, ow=rows, kh=1, kw=1, sh=1, sw=1, dh=1, dw=1, pt=0, pl=0,
                group=1, cg=kk, mg=n, xn=0, xh=0, xw=a.strides[0], yn=0, yh=0,
                yw=y.strides[0], xt=self.ctype(a.storage.dtype), wt="int8_t",
                acct="int32_t", yt=self.ctype(y.storage.dtype), ydtype=y.storage.dtype,
                integer=True, act=p.get("act"), pragma="")
        k.b = (None if c is None else
               self.add_const(f"b_{layer.name}", np.asarray(self.const_data(c)[0], np.int32),
                              f"bias of {layer.name}"))
        self._requant_epilogue(k, call, layer, channels=n)
        return self._prepare_conv_dsp(k, np.asarray(self.const_data(b)).T, layer)

    def prepare_pool2d(self, call: KernelCall, layer: Layer):
        """int8/uint8 max pooling over channels in multiples of four: four lanes per word
        (templates/stm32/pool_max_dsp.j2) on DSP cores; else the generic kernel."""
        name, k = super().prepare_pool2d(call, layer)
        x = call.reads["x"]
        if (self.core.dsp and k.kind == "max" and k.yt in ("int8_t", "uint8_t")
                and x.storage.dtype == call.writes["y"].storage.dtype
                and k.c % 4 == 0):
            k.lanes_min = "0x80808080u" if k.yt == "int8_t" else "0u"
            kh, kw = call.params["kernel"]
            full = (set(k.h_lo) | set(k.w_lo)) == {0} and set(k.h_hi) == {kh} \
                and set(k.w_hi) == {kw}
            k.taps = ([i * k.dh * k.xh + j * k.dw * k.xw for i in range(kh) for j in range(kw)]
                      if full else None)
            return "pool_max_dsp", k
        return name, k

    # -- 32-bit requantization ----------------------------------------------------------
    _acc32 = False
    _arm_rescale = None

    def _requant_epilogue(self, k: Ctx, call: KernelCall, layer: Layer,
                          channels: int | None = None) -> None:
        # Only a fused epilogue knows its accumulator is int32 (a rescale kernel's input
        # may be any integer type): only there may requantize drop to 32 bits.
        self._acc32 = k.acct == "int32_t"
        try:
            super()._requant_epilogue(k, call, layer, channels)
        finally:
            self._acc32 = False

    def _requant32(self, op, channels: int):
        """The facts of a 32-bit requantization (templates/stm32/spelling.j2), or None.
        (acc * m + 2^(s-1)) >> s is computed exactly by SMLAL (64-bit sum, two 32-bit
        halves); its result fits int32, and so the clamp can be 32-bit (SSAT/USAT), when
        |m| <= 2^(s-1): then |result| <= 2^31 * 2^(s-1) / 2^s + 1 = 2^30 + 1, plus a zero
        point of at most 2^16."""
        if op.mode not in ("fixed-point16", "fixed-point32") or op.input_zero_point:
            return None
        if self.core.cpu == "cortex-m0" or abs(int(op.zero_point)) > 1 << 16:
            return None   # ARMv6-M: no SMLAL, no SSAT
        m = np.abs(np.asarray(op.multipliers, np.int64))
        s = np.asarray(op.shifts, np.int64)
        if (s.min() < 1 or s.max() > 62 or int(m.max()) >= 1 << 31
                or int(m.max()) > 1 << int(s.min() - 1)):
            return None
        lo, hi = (np.asarray(b, np.int64).reshape(-1) for b in op.bounds(channels))
        if lo.min() < -(1 << 31) or hi.max() >= 1 << 31:
            return None   # a uint32 result: the 32-bit clamp cannot express it
        sat = None
        if len(set(lo.tolist())) == 1 and len(set(hi.tolist())) == 1:
            lo0, hi0 = int(lo[0]), int(hi[0])
            for bits in range(1, 32):
                if (lo0, hi0) == (-(1 << (bits - 1)), (1 << (bits - 1)) - 1):
                    sat = f"__ssat(q, {bits})"
                elif (lo0, hi0) == (0, (1 << bits) - 1):
                    sat = f"__usat(q, {bits})"
                if sat:
                    break
        # __ssat/__usat come from arm_acle.h, which only DSP builds include (support.h).
        return {"sat": sat if self.core.dsp else None}

    def requantizer(self, layer: Layer, op, channels: int, ydtype: str) -> tuple[str, str]:
        self._arm_rescale = self._requant32(op, channels) if self._acc32 else None
        try:
            return super().requantizer(layer, op, channels, ydtype)
        finally:
            self._arm_rescale = None

    def spell(self, macro: str, *args) -> str:
        if macro == "requantize_function" and self._arm_rescale is not None:
            args = (dict(args[0], arm=self._arm_rescale),)
        return super().spell(macro, *args)

    # -- test vectors ------------------------------------------------------------------
    def _make_vectors(self) -> list[tuple[dict, dict]]:
        """(inputs, expected outputs) of each test vector: ``vectors`` random stimuli (the
        project's stimuli/sample_000... for seed 0) or the given list of feed dicts, and
        the reference simulator's outputs for them."""
        from ...runtime import simulate
        from ..c.project import random_input

        graph = self.program.graph
        spec = self.vector_spec
        edges = graph.metadata.get("io_quantization", {})

        def stimulus(rng, v):
            # A quantized integer input: any level of its type (random_input gives zeros
            # for integers: indices).
            if v.name in edges:
                info = np.iinfo(v.type.dtype.numpy)
                return rng.integers(info.min, info.max + 1, v.shape).astype(v.type.dtype.numpy)
            return random_input(rng, v)

        if isinstance(spec, (int, str)):
            rng = np.random.default_rng(0)
            feeds = [{v.name: stimulus(rng, v) for v in graph.inputs}
                     for _ in range(int(spec))]
        else:
            feeds = [dict(f) for f in spec]
        if not feeds:
            raise UsageError("option 'vectors' of backend stm32 needs at least one test vector")
        vectors = []
        for f in feeds:
            inputs = {v.name: np.asarray(f[v.name], v.type.dtype.numpy) for v in graph.inputs}
            outputs = simulate(graph, inputs)
            vectors.append((inputs, {v.name: np.asarray(outputs[v.name], v.type.dtype.numpy)
                                     for v in graph.outputs}))
        return vectors

    def vector_definitions(self) -> str:
        """The vectors' arrays (bytes in string literals, like the weights) and the tables
        of pointers main.c walks."""
        parts, in_rows, out_rows = [], [], []
        for s, (inputs, outputs) in enumerate(self.vectors):
            row = []
            for i, v in enumerate(self.program.inputs):
                sym = f"vector{s}_in{i}"
                parts.append(c_const_definition(sym, sym + "_bytes", self.io_ctype(v),
                                                inputs[v.name], self.align(), rows=True))
                row.append(f"{sym}_bytes.values")  # a constant expression, unlike sym
            in_rows.append(row)
            row = []
            for j, v in enumerate(self.program.outputs):
                sym = f"vector{s}_out{j}"
                parts.append(c_const_definition(sym, sym + "_bytes", self.io_ctype(v),
                                                outputs[v.name], self.align(), rows=True))
                row.append(f"{sym}_bytes.values")
            out_rows.append(row)

        decls = []
        for name, rows, count in (("n2d2c_vector_inputs", in_rows, len(self.program.inputs)),
                                  ("n2d2c_vector_expected", out_rows,
                                   len(self.program.outputs))):
            lines = ",\n".join("    {" + ", ".join(row) + "}" for row in rows)
            decls.append(f"const void* const {name}[N2D2C_NB_VECTORS][{count}] = {{\n"
                         f"{lines}\n}};")
        return "\n\n".join(parts + decls)

    def output_is_float32(self, value) -> bool:
        return io_types.io_dtype(value) == "float32"

    def io_comment(self, value) -> str:
        """The header's words for an input or output; an integer edge made by -X io=integer
        says what its levels stand for."""
        text = super().io_comment(value)
        edge = self.program.graph.metadata.get("io_quantization", {}).get(value.name)
        if edge:
            text += (f", quantized: real value (q - {edge['zero_point']}) * "
                     f"{edge['scale']:.9g}")
        return text

    @property
    def any_float_output(self) -> bool:
        """Does the testbench compare float32 outputs (within a tolerance, in float)?  An
        all-integer network's testbench then has no floating point at all."""
        return any(self.output_is_float32(v) for v in self.program.outputs)

    # -- files -----------------------------------------------------------------------
    def render_files(self) -> dict[str, str]:
        """The project's files; raises ResourceLimitError when the network does not fit
        the chip (unless ``check_size`` is off), after writing nothing."""
        self.vectors = self._make_vectors()
        files = super().render_files()
        if not self.profile:
            for name in self.PROFILE_FILES:
                del files[name]
        self.size_report = sizes.size_report(self)
        files["size_report.txt"] = self.size_report.text
        if self.check_size and not self.size_report.fits:
            raise ResourceLimitError(self.size_report.error,
                                     hint="pick a larger part (-X mcu=...), set its sizes "
                                          "(-X flash-kib=, -X ram-kib=), or quantize the "
                                          "model; -X check-size=false generates it anyway")
        return files


__all__ = ["STM32_TEMPLATES", "Stm32Emitter"]
