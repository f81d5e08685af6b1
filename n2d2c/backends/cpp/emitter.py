"""The C++14/OpenMP target: a CEmitter that differs in spelling, project files and hot kernels.

Overrides, and why:

* spelling: ``__restrict__``, ``constexpr``, ``alignas``, OpenMP pragmas;
* files: a namespace'd ``network.hpp`` API, a Makefile and a testbench;
* kernels: ``templates/cpp/`` adds ``conv2d_direct`` (register tiles of output
  pixels x channel vectors over a zero-padded NHWC input; 1x1 convolutions and
  dense layers are the same kernel, a GEMM) and ``depthwise_conv2d``, with
  activations applied to vectors in the epilogue; the int8 kernels are prepared by
  ``integer.py`` (``IntegerKernels``, a mixin).  ``prepare_conv2d`` and
  ``prepare_gemm`` choose them for float layers with constant weights and fall
  back to the generic kernels (``c/templates/generic/``) otherwise; every other
  kernel is generic, parallelised by ``parallel_for``;
* memory: ``MEMORY_TRAITS`` says which of those kernels may share bytes with their
  input (row-ordered variants rendered when the plan overlaps them, see
  ``c/memory.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ...errors import InternalError
from ..c.emitter import CEmitter, Ctx
from ..c.kernel_memory import NONE, ROWS, KernelMemory
from ..c.program import KernelCall, Layer, c_identifier
from .integer import INTEGER_MEMORY_TRAITS, IntegerKernels
from .tuning import TUNE_FILE, Tuning
from .winograd import prepare_winograd

CPP_TEMPLATES = Path(__file__).parent / "templates" / "cpp"

# Output channels are stored in blocks of the widest vector (16 floats): the vector width is
# chosen when the C++ is compiled (see n2d2c_support.hpp), and 16 is a multiple of each.
PAD_CHANNELS = 16


# The row-ordered variant of conv2d_direct reads all the weights once per output row: worth
# the arena bytes it saves only while they stay in the core's L2 cache (ResNet-18's 512x512
# 3x3 layers, 9.4 MB of weights over 2 output rows, ran 2.3x slower row by row: their weights
# came twice from DRAM).
ROW_ORDER_WEIGHT_BYTES = 512 * 1024


def _direct_conv_memory(call: KernelCall, ctx: Ctx) -> KernelMemory:
    """conv2d_direct: row-ordered unless it is a dense layer or grouped (groups loop
    first), or its weights are too large to be read once per output row; a padded
    convolution of one image first copies its whole input into the padded scratch
    (staged)."""
    if ctx.gemm or ctx.group != 1:
        return NONE
    if ctx.oh > 1 and call.params["weights"].size * 4 > ROW_ORDER_WEIGHT_BYTES:
        return NONE
    if ctx.pad is None:
        return ROWS
    if ctx.n == 1:
        return KernelMemory(rows=True, staged=ctx.pad.view.storage,
                            pads=tuple(call.params["pads"]))
    return NONE


class CppEmitter(IntegerKernels, CEmitter):
    target: ClassVar[str] = "cpp"
    template_dirs: ClassVar[tuple[Path, ...]] = (CPP_TEMPLATES,) + CEmitter.template_dirs
    file_templates: ClassVar[dict[str, str]] = {
        "network.hpp": "files/network.hpp.j2",
        "network.cpp": "files/network.cpp.j2",
        "weights.hpp": "files/weights.hpp.j2",
        "weights.cpp": "files/weights.cpp.j2",
        "n2d2c_support.hpp": "files/support.hpp.j2",
        "main.cpp": "files/main.cpp.j2",
        "Makefile": "files/Makefile.j2",
        "README.md": "files/README.md.j2",
    }
    reindented_files: ClassVar[tuple[str, ...]] = ("network.cpp",)
    # The C++ kernels whose access order allows sharing (see the templates): depthwise and
    # direct convolutions, float and integer, have a row-ordered variant.
    MEMORY_TRAITS: ClassVar[dict[str, object]] = {
        **CEmitter.MEMORY_TRAITS, **INTEGER_MEMORY_TRAITS,
        "depthwise_conv2d": ROWS, "conv2d_direct": _direct_conv_memory}
    language: ClassVar[str] = "c++"
    compiler: ClassVar[str] = "g++"
    compiler_flags: ClassVar[tuple[str, ...]] = ("-std=c++14", "-fopenmp", "-Wall", "-Wextra")
    restrict: ClassVar[str] = "__restrict__"

    def __init__(self, program, *, plan=None, parallel: bool = True, tune="", tiling: str = "",
                 winograd: str = "auto"):
        super().__init__(program, plan=plan)
        self.winograd = winograd   # -X winograd=MODE[,NAME:MODE...] (winograd.py)
        self.parallel = parallel
        self.namespace = c_identifier(program.name)
        self.tuning = Tuning.from_options(tune, tiling)
        # The kernel each tunable layer got (direct with its tile, or Winograd with its
        # variant): what tune.json records.
        self.chosen: dict[str, dict] = {}

    def kernel_choice(self, layer: str) -> dict:
        """The tune file's choice for ``layer`` ({} when none): {"kernel": "direct",
        "tile": [pw, nv]} or {"kernel": "winograd", "variant": ...}."""
        return self.tuning.kernel_choice(layer)

    def _tile(self, k: Ctx, layer: Layer) -> None:
        """The register tile of a direct convolution or dense layer (k.tile; None: the
        default for the vector width), recorded for tune.json."""
        k.tile = self.tuning.tile(layer.name)
        choice = {"kernel": "direct"}
        if k.tile is not None:
            choice["tile"] = [k.tile.pw, k.tile.nv]
        self.chosen[layer.name] = choice

    def render_files(self) -> dict[str, str]:
        files = super().render_files()
        if self.tuning.layers or self.tuning.forced is not None:
            # The choices this code was generated with, including layers the tuner did not
            # reach (default choice), so that the file alone reproduces the code.
            layers = {**self.tuning.layers,
                      **{name: {**self.tuning.layers.get(name, {}), **choice}
                         for name, choice in self.chosen.items()}}
            tuning = Tuning(layers, self.tuning.vlen, self.tuning.machine)
            files[TUNE_FILE] = tuning.text()
        return dict(sorted(files.items()))

    # -- spelling --------------------------------------------------------------------
    def const_int(self, name: str, value: int) -> str:
        return f"constexpr int {name} = {int(value)};"

    def align(self, n: int | None = None) -> str:
        return f"alignas({n or self.alignment})"

    def arena_decl(self) -> str:
        if self.byte_arena:
            decl = (f"alignas({self.alignment}) static unsigned char "
                    f"arena[{self.arena_bytes_declared}];")
        else:
            decl = f"alignas({self.alignment}) static float arena[{self.arena_elements()}];"
        return decl + self.external_decls()

    def external_decls(self) -> str:
        return "".join(f"\nalignas({self.alignment}) static {self.ctype(st.dtype)} "
                       f"{self.external_symbol(st.name)}[{st.size}];  // "
                       f"{st.size * st.itemsize} bytes, outside the arena"
                       for st in self.external_storages)

    def cast_ptr(self, ctype: str, expr: str) -> str:
        return f"reinterpret_cast<{ctype}*>({expr})"

    def parallel_for(self, work: int, collapse: int = 1) -> str:
        if not self.parallel or work < self.parallel_threshold:
            return ""
        clause = f" collapse({collapse})" if collapse > 1 else ""
        return f"#pragma omp parallel for schedule(static){clause}"

    def parallel_region(self, work: int, collapse: int = 1) -> tuple[str, str]:
        """A parallel region and the work-sharing loop inside it (both "" when ``work`` is
        too small): a kernel that runs its rows in order shares each row among the threads
        of one region instead of opening a region per row."""
        if not self.parallel_for(work):
            return "", ""
        clause = f" collapse({collapse})" if collapse > 1 else ""
        return "#pragma omp parallel", f"#pragma omp for schedule(static){clause}"

    def api_name(self, name: str) -> str:
        return name   # the API lives in the network's namespace

    def layer_params(self, layer: Layer) -> str:
        return "" if layer.kind == "op" else super().layer_params(layer)

    # -- vector epilogues ------------------------------------------------------------
    def vector_activation(self, act) -> str | None:
        """Body of a lambda applying ``act`` to a vector ``v``, None if it has no vector form."""
        if act is None:
            return "return v;"
        if act.kind == "relu":
            return "const n2d2c_vec z = N2D2C_SPLAT(0.0f); return v > z ? v : z;"
        if act.kind == "leaky_relu":
            return (f"const n2d2c_vec z = N2D2C_SPLAT(0.0f); "
                    f"return v < z ? v * {self.f(act.attr('alpha'))} : v;")
        if act.kind == "clip":
            lo, hi = act.attr("min"), act.attr("max")
            lines = []
            if lo != float("-inf"):
                lines.append(f"const n2d2c_vec lo = N2D2C_SPLAT({self.f(lo)}); v = v > lo ? v : lo;")
            if hi != float("inf"):
                lines.append(f"const n2d2c_vec hi = N2D2C_SPLAT({self.f(hi)}); v = v < hi ? v : hi;")
            return " ".join(lines + ["return v;"])
        return None

    def _epilogue(self, k: Ctx) -> None:
        body = self.vector_activation(k.act)
        k.vact = "true" if body is not None else "false"
        k.vact_body = body if body is not None else "return v;"
        k.has_bias = "true" if k.b else "false"

    # -- hot kernels ------------------------------------------------------------------
    def prepare_conv2d(self, call: KernelCall, layer: Layer):
        wts = call.params.get("weights")
        if self._integer_conv(call):
            return self._prepare_conv2d_int(call, layer)
        chosen = prepare_winograd(self, call, layer)
        if chosen:
            return chosen
        if wts is None or call.writes["y"].storage.dtype != "float32":
            # Weights computed at run time, or integer arithmetic: the generic kernel.
            return super().prepare_conv2d(call, layer)
        k = self._conv_common(call, False)
        g, cg, mg = k.group, k.cg, k.mg
        x, y = call.reads["x"], call.writes["y"]
        if (y.strides[1] not in (0, 1) or x.strides[1] not in (0, 1)
                or _pixel_stride(y) is None):
            # Channels not contiguous, or pixels not evenly spaced: the generic kernel.
            return super().prepare_conv2d(call, layer)
        k.layer = layer.name
        k.gemm = False
        k.struct = self.symbol(f"{layer.name}_shape")
        if cg == 1 and mg == 1:
            # Depthwise: weights [kh][kw][C], vectorised over channels.
            k.w = self.add_const(f"w_{layer.name}",
                                 wts.reshape(k.m, k.kh, k.kw).transpose(1, 2, 0),
                                 f"weights of {layer.name}, depthwise [kh][kw][C]")
            k.b = self._bias(call, layer)
            # Interior columns: every kernel tap falls inside the input.
            k.ow_lo = min(k.ow, max(0, -(-k.pl // k.sw)))
            hi = (k.width - 1 + k.pl - (k.kw - 1) * k.dw) // k.sw + 1
            k.ow_hi = max(k.ow_lo, min(k.ow, hi))
            k.pragma = self.parallel_for(k.oh * k.ow * k.m * k.kh * k.kw, collapse=2)
            k.region, k.row_loop = self.parallel_region(k.oh * k.ow * k.m * k.kh * k.kw)
            self._epilogue(k)
            return "depthwise_conv2d", k
        # NHWC: a pixel's channels are contiguous; consecutive pixels (row-major) are
        # k.xw / k.yw floats apart (the output may be a slice of a Concat buffer).
        k.xw, k.yw = _pixel_stride(x), _pixel_stride(y)
        # Direct convolution, weights [group][M/g / 16][kh][kw][C/g][16] (M/g padded to 16):
        # each register tile reads its channel vectors as contiguous streams.
        mp = -(-mg // PAD_CHANNELS) * PAD_CHANNELS
        arr = np.zeros((g, mp, cg, k.kh, k.kw), np.float32)
        arr[:, :mg] = wts.reshape(g, mg, cg, k.kh, k.kw)
        arr = arr.reshape(g, mp // PAD_CHANNELS, PAD_CHANNELS, cg, k.kh, k.kw) \
                 .transpose(0, 1, 4, 5, 3, 2)
        k.w = self.add_const(f"w_{layer.name}", arr,
                             f"weights of {layer.name}, [group][M/g/16][kh][kw][C/g][16]")
        k.mp = mp
        k.b = self._padded_bias(call.params.get("bias"), call, layer, g, mg, mp)
        pads = call.params["pads"]
        if any(pads):
            hp = k.height + pads[0] + pads[2]
            wp = k.width + pads[1] + pads[3]
            view = self.scratch(layer, "padded", hp * wp * k.c)
            k.pad = Ctx(hp=hp, wp=wp, ptr=self.pointer(view), view=view)
            k.sxh, k.sxw = wp * k.c, k.c
        else:
            k.pad = None
            k.sxh, k.sxw = k.xh, k.xw
        self._direct_parallelism(k, k.oh * k.ow * k.m * cg * k.kh * k.kw)
        self._epilogue(k)
        self._tile(k, layer)
        return "conv2d_direct", k

    def _direct_parallelism(self, k: Ctx, work: int) -> None:
        """conv2d_direct's OpenMP: one region per layer (k.region) whose loops share their
        iterations (k.loop: channel blocks x pixel chunks; k.row_loop: one row's tiles, or
        the rows of the padded copy), all "" for a layer too small to share."""
        k.region, k.loop = self.parallel_region(work, collapse=2)
        _, k.row_loop = self.parallel_region(work)

    def _padded_bias(self, bias, call, layer, groups, per_group, padded):
        if bias is None:
            b = self._bias(call, layer)     # none, or computed at run time (not padded)
            if b is not None:
                raise InternalError(f"{layer.name}: run-time bias with constant weights")
            return None
        arr = np.zeros((groups, padded), np.float32)
        arr[:, :per_group] = np.asarray(bias, np.float32).reshape(groups, per_group)
        return self.add_const(f"b_{layer.name}", arr, f"bias of {layer.name}, padded to {padded}")

    def prepare_gemm(self, call: KernelCall, layer: Layer):
        a, b, y = call.reads["a"], call.reads["b"], call.writes["y"]
        c = call.reads.get("c")
        alpha, beta = call.params["alpha"], call.params["beta"]
        if self._integer_gemm(call):
            return self._prepare_dense_i8(call, layer)
        dense = (y.storage.dtype == "float32" and b.storage.kind == "const" and a.rank == 2
                 and a.strides[1] == 1
                 and y.strides[1] == 1 and (c is None or (c.storage.kind == "const"
                                                          and c.strides[0] == 0)))
        if not dense:
            return super().prepare_gemm(call, layer)
        # A dense layer: rows of A are the pixels of a 1x1 convolution whose weights are B.
        m, kk = a.shape
        n = b.shape[1]
        np_ = -(-n // PAD_CHANNELS) * PAD_CHANNELS
        weights = np.zeros((np_, kk), np.float32)
        data = self.const_data(b).T
        weights[:n] = data * np.float32(alpha) if alpha != 1.0 else data
        weights = weights.reshape(np_ // PAD_CHANNELS, PAD_CHANNELS, kk).transpose(0, 2, 1)
        k = Ctx(x=self.operand("a", a), y=self.operand("y", y), n=1, group=1, c=kk, m=n,
                height=1, width=m, oh=1, ow=m, kh=1, kw=1, sh=1, sw=1, pt=0, pl=0, dh=1, dw=1,
                cg=kk, mg=n, mp=np_, xn=0, xh=0, sxh=0, sxw=a.strides[0], yn=0,
                yw=y.strides[0], pad=None, act=call.params.get("act"), gemm=True,
                layer=layer.name, struct=self.symbol(f"{layer.name}_shape"))
        k.w = self.add_const(f"w_{layer.name}", weights,
                             f"weights of {layer.name}, [N/16][K][16]"
                             + (f", times alpha {alpha:g}" if alpha != 1.0 else ""))
        k.b = None
        if c is not None:
            bias = self.const_data(c)[0] * np.float32(beta)
            k.b = self._padded_bias(bias, call, layer, 1, n, np_)
        self._direct_parallelism(k, m * n * kk)
        self._epilogue(k)
        self._tile(k, layer)
        return "conv2d_direct", k


def _pixel_stride(view) -> int | None:
    """Distance in elements between consecutive pixels (row-major over H, W) of an NHWC
    view, or None when rows are not ``W`` pixels apart (e.g. a slice along W)."""
    _, c, h, w = view.shape
    _, _, sh, sw = view.strides
    if w > 1 and h > 1:
        return sw if sh == w * sw else None
    if w > 1:
        return sw
    if h > 1:
        return sh
    return c


__all__ = ["CppEmitter", "PAD_CHANNELS"]
