"""Cortex-M7 instruction counts under QEMU: n2d2c's stm32 kernels next to CMSIS-NN's.

    python benchmarks/cortex_m.py            # or: python benchmarks/run_all.py --only cortex_m

For each of issue 16's layer shapes, one firmware for QEMU's mps2-an500 (Cortex-M7)
holds both sides: n2d2c's project for a one-layer quantized graph (``--backend stm32``,
default quantization: per-channel weights, Fixed-point16 rescaling) and a call of the
CMSIS-NN s8 kernel its wrapper picks for that shape (built here from
``../shared/third_party/cmsis-nn`` with the same arm-none-eabi-gcc and flags: a peer to
measure, never part of generated code).  The benchmark's own ``bench.c`` replaces the
project's testbench and brackets each measured call between ``bench_begin()`` and
``bench_end()`` (noinline, addresses from arm-none-eabi-nm).

Counting is deterministic: QEMU 7.2 runs one guest instruction per translation block
(``-singlestep``; QEMU >= 8.1 spells it ``-accel tcg,one-insn-per-tb=on``) and logs every
block it executes (``-d exec,nochain``: no chaining, so none is skipped).  A region's
count is the number of instructions from ``bench_begin``'s entry to ``bench_end``'s,
less the count of an empty pair.  n2d2c's layer is counted inside its own function
(``layer_kernel``, kept out of line by compiling network.c with LAYER_FLAGS; it
calls nothing, which is checked), so the float
input's quantization and the output's dequantization (which a one-layer graph needs and
a CMSIS-NN call does not do) stay out of its count; CMSIS-NN's count includes the
caller's argument set-up.  MACs count every tap of the window, padding included.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from common import markdown_table  # noqa: E402

CMSIS = REPO.parent / "shared" / "third_party" / "cmsis-nn"
MCU = "stm32h7"
BOARD_KIB = 4096            # QEMU's MPS2 boards: 4 MiB of flash and of RAM
OPT = "-O2"
# network.c only: each layer stays a function of its own, so it can be counted (functions
# declared inline, the spelling helpers, still are).
LAYER_FLAGS = ("-fno-inline-functions-called-once -fno-inline-small-functions "
               "-fno-inline-functions")
QEMU_TIMEOUT = 1200
CMSIS_DIRS = ("ConvolutionFunctions", "FullyConnectedFunctions", "NNSupportFunctions")


@dataclasses.dataclass(frozen=True)
class Shape:
    name: str
    kind: str            # conv, depthwise, fc
    size: int = 1        # input height = width
    cin: int = 1
    cout: int = 1
    k: int = 1
    pad: int = 0

    @property
    def macs(self) -> int:
        if self.kind == "fc":
            return self.cin * self.cout
        per_output = self.k * self.k * (1 if self.kind == "depthwise" else self.cin)
        return self.size * self.size * self.cout * per_output


SHAPES = (
    Shape("conv 3x3, 16->16, 32x32, s1 p1", "conv", 32, 16, 16, 3, 1),
    Shape("depthwise 3x3, 96 ch, 28x28, s1 p1", "depthwise", 28, 96, 96, 3, 1),
    Shape("conv 1x1, 96->24, 28x28", "conv", 28, 96, 24, 1, 0),
    Shape("fully connected 256->120", "fc", 1, 256, 120),
)
# The kernel CMSIS-NN's wrapper (arm_convolve_wrapper_s8, arm_depthwise_conv_wrapper_s8)
# picks for each shape on a DSP core.
CMSIS_KERNEL = {"conv3": "arm_convolve_s8", "depthwise": "arm_depthwise_conv_3x3_s8",
                "conv1": "arm_convolve_1x1_s8_fast", "fc": "arm_fully_connected_s8"}


def _cmsis_kernel(shape: Shape) -> str:
    if shape.kind == "conv":
        return CMSIS_KERNEL["conv1" if shape.k == 1 else "conv3"]
    return CMSIS_KERNEL[shape.kind]


# -- the graphs ------------------------------------------------------------------------
def layer_graph(shape: Shape, seed: int = 0):
    """A quantized one-layer graph (the layer is called ``kernel``).  Image inputs are
    NHWC with a transpose on each side, which the layout pass cancels: the layer reads
    and writes the arena directly, as CMSIS-NN does."""
    from n2d2c import quantization
    from n2d2c.ir import Graph, TensorType
    from n2d2c.ir import ops as O

    rng = np.random.default_rng(seed)
    g = Graph("kernel_" + shape.kind)
    if shape.kind == "fc":
        in_shape = (1, shape.cin)
        x = g.add_input("input", TensorType(in_shape))
        w = g.constant((rng.standard_normal((shape.cout, shape.cin)) / 16).astype(np.float32),
                       "kernel.w")
        b = g.constant((rng.standard_normal(shape.cout) * 0.1).astype(np.float32), "kernel.b")
        y = g.add(O.Gemm(name="kernel", trans_b=True), [x, w, b], ["kernel"]).output
    else:
        in_shape = (1, shape.size, shape.size, shape.cin)
        x = g.add_input("input", TensorType(in_shape))
        t = g.add(O.Transpose(name="to_nchw", perm=(0, 3, 1, 2)), [x]).output
        group = shape.cin if shape.kind == "depthwise" else 1
        w = g.constant((rng.standard_normal((shape.cout, shape.cin // group, shape.k, shape.k))
                        / 8).astype(np.float32), "kernel.w")
        b = g.constant((rng.standard_normal(shape.cout) * 0.1).astype(np.float32), "kernel.b")
        p = shape.pad
        y = g.add(O.Conv2d(name="kernel", pads=(p, p, p, p), group=group), [t, w, b],
                  ["kernel"]).output
        y = g.add(O.Transpose(name="to_nhwc", perm=(0, 2, 3, 1)), [y]).output
    g.outputs = [y]
    calib = rng.uniform(-1, 1, (8, *in_shape[1:])).astype(np.float32)
    qgraph, _ = quantization.quantize_graph(g, calib, {"nbbits": 8})
    return qgraph


def network_graphs():
    """(label, quantized graph) of the networks measured per inference."""
    from n2d2c import quantization
    from n2d2c.examples import zoo
    from n2d2c.frontend.onnx import load_onnx

    rng = np.random.default_rng(0)
    lenet = load_onnx(zoo.lenet(seed=0))
    shape = tuple(lenet.inputs[0].type.shape[1:])
    lenet_q, _ = quantization.quantize_graph(
        lenet, rng.uniform(-1, 1, (8, *shape)).astype(np.float32), {"nbbits": 8})
    fixtures = REPO / "tests" / "fixtures"
    digits_q, _ = quantization.quantize_graph(
        load_onnx(fixtures / "digits_cnn.onnx"),
        np.load(fixtures / "digits_calib.npz")["x"][:64], {"nbbits": 8})
    return [("LeNet-like 28x28", lenet_q), ("digits CNN (tests/fixtures)", digits_q)]


# -- building ----------------------------------------------------------------------------
def _run(cmd, **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc.stdout


def cpu_flags() -> list[str]:
    from n2d2c.backends.stm32.cores import get_core
    return list(get_core(MCU).cpu_flags)


def build_cmsis(scratch: Path) -> Path:
    """libcmsisnn.a from the int8 sources of the kernels' folders (no float16/float32
    files), with the flags the generated Makefile uses."""
    lib_dir = scratch / "cmsis"
    lib_dir.mkdir(parents=True, exist_ok=True)
    objs = []
    for folder in CMSIS_DIRS:
        for src in sorted((CMSIS / "Source" / folder).glob("*.c")):
            if re.search(r"_f(16|32)\b|_flt", src.stem):
                continue
            obj = lib_dir / (src.stem + ".o")
            _run(["arm-none-eabi-gcc", OPT, *cpu_flags(), "-ffunction-sections",
                  "-fdata-sections", "-I", str(CMSIS / "Include"), "-c", str(src), "-o",
                  str(obj)])
            objs.append(str(obj))
    lib = lib_dir / "libcmsisnn.a"
    _run(["arm-none-eabi-ar", "rcs", str(lib), *objs])
    return lib


def _c_array(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


def cmsis_call(shape: Shape) -> str:
    """bench.c's declarations and the statement that calls CMSIS-NN on ``shape``.  The
    weights are const (flash, as n2d2c's); values do not change the instruction count
    (no kernel branches on data), but they are random like a real layer's."""
    rng = np.random.default_rng(1)
    kernel = _cmsis_kernel(shape)
    if shape.kind == "fc":
        wsize, insize, outsize = shape.cin * shape.cout, shape.cin, shape.cout
    else:
        per = 1 if shape.kind == "depthwise" else shape.cin
        wsize = shape.cout * shape.k * shape.k * per
        insize = shape.size * shape.size * shape.cin
        outsize = shape.size * shape.size * shape.cout
    decl = f"""#include "arm_nnfunctions.h"
static const int8_t cm_weights[{wsize}] = {_c_array(rng.integers(-127, 128, wsize))};
static const int32_t cm_bias[{shape.cout}] = {_c_array(rng.integers(-3000, 3000, shape.cout))};
static int32_t cm_multiplier[{shape.cout}];
static int32_t cm_shift[{shape.cout}];
static int8_t cm_input[{insize}] __attribute__((aligned(8)));
static int8_t cm_output[{outsize}] __attribute__((aligned(8)));
static int16_t cm_scratch[8192] __attribute__((aligned(8)));
"""
    setup = f"""    for (i = 0; i < {insize}; ++i) cm_input[i] = (int8_t)((i * 37u + 11u) & 0xFF);
    for (i = 0; i < {shape.cout}; ++i) {{ cm_multiplier[i] = 1300000000 + i * 1000; cm_shift[i] = -9; }}
"""
    s, c, m, k, p = shape.size, shape.cin, shape.cout, shape.k, shape.pad
    act = "{-128, 127}"
    if shape.kind == "fc":
        setup += f"""    cmsis_nn_context ctx = {{NULL, 0}};
    cmsis_nn_fc_params params = {{0, 0, 0, {act}}};
    cmsis_nn_per_tensor_quant_params quant = {{1300000000, -9}};
    cmsis_nn_dims in_dims = {{1, 1, 1, {c}}}, filter_dims = {{{c}, 1, 1, {m}}};
    cmsis_nn_dims bias_dims = {{1, 1, 1, {m}}}, out_dims = {{1, 1, 1, {m}}};
"""
        call = (f"{kernel}(&ctx, &params, &quant, &in_dims, cm_input, &filter_dims, cm_weights,"
                " &bias_dims, cm_bias, &out_dims, cm_output)")
        return decl, setup, call
    if shape.kind == "depthwise":
        params = f"cmsis_nn_dw_conv_params params = {{0, 0, 1, {{1, 1}}, {{{p}, {p}}}, {{1, 1}}, {act}}};"
        filter_dims = f"{{1, {k}, {k}, {m}}}"
        buf = "arm_depthwise_conv_s8_opt_get_buffer_size(&in_dims, &filter_dims)"
    else:
        params = f"cmsis_nn_conv_params params = {{0, 0, {{1, 1}}, {{{p}, {p}}}, {{1, 1}}, {act}}};"
        filter_dims = f"{{{m}, {k}, {k}, {c}}}"
        buf = ("arm_convolve_1x1_s8_fast_get_buffer_size(&in_dims)" if k == 1 else
               "arm_convolve_s8_get_buffer_size(&in_dims, &filter_dims)")
    setup += f"""    {params}
    cmsis_nn_per_channel_quant_params quant = {{cm_multiplier, cm_shift}};
    cmsis_nn_dims in_dims = {{1, {s}, {s}, {c}}}, filter_dims = {filter_dims};
    cmsis_nn_dims bias_dims = {{1, 1, 1, {m}}}, out_dims = {{1, {s}, {s}, {m}}};
    cmsis_nn_context ctx = {{cm_scratch, {buf}}};
    if (ctx.size > (int32_t)sizeof cm_scratch) return 3;
"""
    extra = ", NULL" if kernel == "arm_convolve_s8" else ""   # upscale_dims: none
    call = (f"{kernel}(&ctx, &params, &quant, &in_dims, cm_input, &filter_dims, cm_weights,"
            f" &bias_dims, cm_bias{extra}, &out_dims, cm_output)")
    return decl, setup, call


def bench_source(graph, peer) -> str:
    """bench.c: region 0 is an empty marker pair, region 1 n2d2c's network, region 2 (with
    ``peer``) the CMSIS-NN call; main returns 0 when every call succeeded."""
    outputs = "\n".join(f"static float out{j}[{v.type.size}] __attribute__((aligned(8)));"
                        for j, v in enumerate(graph.outputs))
    out_list = ", ".join(f"out{j}" for j in range(len(graph.outputs)))
    decl, setup, call = peer if peer else ("", "", "")
    peer_region = f"""    {{
        arm_cmsis_nn_status status;
        bench_begin();
        status = {call};
        bench_end();
        if (status != ARM_CMSIS_NN_SUCCESS) return 2;
    }}
""" if peer else ""
    return f"""/* n2d2c benchmarks/cortex_m.py: measured calls between instruction-count markers. */
#include <stddef.h>
#include <stdint.h>
#include "network.h"
#include "vectors.h"
{decl}
/* Markers: noinline with an empty asm so that each is one BX LR the trace can see. */
void __attribute__((noinline)) bench_begin(void) {{ __asm volatile("" ::: "memory"); }}
void __attribute__((noinline)) bench_end(void) {{ __asm volatile("" ::: "memory"); }}

{outputs}
static float* outputs[] = {{{out_list}}};

int main(void)
{{
    int i;
    const float* inputs[{len(graph.inputs)}];
    (void)i;
    for (i = 0; i < {len(graph.inputs)}; ++i) inputs[i] = (const float*)n2d2c_vector_inputs[0][i];
{setup}
    bench_begin();
    bench_end();
    bench_begin();
    network_run(inputs, outputs);
    bench_end();
{peer_region}    return 0;
}}
"""


def build_firmware(graph, folder: Path, lib: Path | None, peer) -> Path:
    """The stm32 project of ``graph`` in ``folder`` with bench.c as its main; returns
    the QEMU board's ELF.  Layers stay out of line only with a ``peer`` (a whole network
    is measured as the project builds it)."""
    from n2d2c.backends.c.project import compile_to_dir

    compile_to_dir(graph, folder, target="stm32", mcu=MCU, flash_kib=BOARD_KIB,
                   ram_kib=BOARD_KIB, vectors=1, stimuli=0)
    (folder / "bench.c").write_text(bench_source(graph, peer))
    make = ["make", "-s", "-C", str(folder), f"OPT={OPT}"]
    if peer:
        _run(make + [f"EXTRA={LAYER_FLAGS}", "build/obj/network.o"])
    srcs = "startup.c bench.c network.c weights.c vectors.c"
    extra = f"-I{CMSIS / 'Include'}" if lib else ""
    libs = f"-L{lib.parent} -lcmsisnn -lm" if lib else "-lm"
    _run(make + [f"SRCS={srcs}", f"EXTRA={extra}", f"LDLIBS={libs}", "build/qemu/app.elf"])
    return folder / "build" / "qemu" / "app.elf"


def symbols(elf: Path) -> dict[str, tuple[int, int]]:
    """name -> (address without the Thumb bit, size) from arm-none-eabi-nm -S."""
    table = {}
    for line in _run(["arm-none-eabi-nm", "-S", str(elf)]).splitlines():
        parts = line.split()
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16) & ~1, int(parts[1], 16))
    return table


def check_leaf(elf: Path, start: int, size: int, name: str) -> None:
    """A counted layer must not call out: its callees would not be in its range."""
    text = _run(["arm-none-eabi-objdump", "-d", f"--start-address={start:#x}",
                 f"--stop-address={start + size:#x}", str(elf)])
    calls = [line for line in text.splitlines() if re.search(r"\tblx?\s", line)]
    if calls:
        raise RuntimeError(f"{name} calls out, its count would miss the callees:\n"
                           + "\n".join(calls[:5]))


# -- counting ----------------------------------------------------------------------------
def count(elf: Path, layer: str | None = None) -> tuple[list[int], int | None]:
    """Run ``elf`` under QEMU, one instruction per block, logging each: the instruction
    counts of its marker regions (empty pair subtracted) and of ``layer``'s function."""
    table = symbols(elf)
    begin, end = table["bench_begin"][0], table["bench_end"][0]
    lo = hi = -1
    if layer:
        lo, size = table[layer]
        hi = lo + size
        check_leaf(elf, lo, size, layer)
    cmd = ["qemu-system-arm", "-M", "mps2-an500", "-nographic", "-monitor", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf),
           "-singlestep", "-d", "exec,nochain"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    regions, inside, n, in_layer = [], False, 0, 0
    for line in proc.stderr:       # "Trace 0: 0x... [cs_base/pc/flags/cflags] symbol"
        at = line.find(b"[")
        if at < 0:
            continue
        pc = int(line[at + 10:at + 18], 16)
        if pc == begin:
            inside, n = True, 0
        elif pc == end:
            if inside:
                regions.append(n)
            inside = False
        if inside:
            n += 1
            if lo <= pc < hi:
                in_layer += 1
    rc = proc.wait(timeout=QEMU_TIMEOUT)
    if rc != 0 or len(regions) < 2:
        raise RuntimeError(f"{elf}: exit status {rc}, {len(regions)} regions counted")
    base = regions[0]
    return [r - base for r in regions[1:]], (in_layer if layer else None)


def size_of(elf: Path) -> tuple[int, int]:
    """(flash, RAM) bytes: text + data, data + bss (arm-none-eabi-size, Berkeley)."""
    text, data, bss = map(int, _run(["arm-none-eabi-size", str(elf)]).splitlines()[1].split()[:3])
    return text + data, data + bss


# -- the report ------------------------------------------------------------------------
def versions() -> str:
    gcc = _run(["arm-none-eabi-gcc", "--version"]).splitlines()[0]
    qemu = _run(["qemu-system-arm", "--version"]).splitlines()[0]
    cmsis = "?"
    try:
        cmsis = _run(["git", "-C", str(CMSIS), "log", "-1", "--format=%h"]).strip() or "?"
    except (RuntimeError, OSError):
        pass
    return f"{gcc}; {qemu}; CMSIS-NN {cmsis}"


def run() -> str:
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            return f"## Cortex-M7 instruction counts\n\nskipped: {tool} not found\n"
    if not (CMSIS / "Include" / "arm_nnfunctions.h").exists():
        return f"## Cortex-M7 instruction counts\n\nskipped: no CMSIS-NN at {CMSIS}\n"
    rows, net_rows = [], []
    with tempfile.TemporaryDirectory(prefix="n2d2c_cortex_m_") as tmp:
        scratch = Path(tmp)
        lib = build_cmsis(scratch)
        for i, shape in enumerate(SHAPES):
            elf = build_firmware(layer_graph(shape), scratch / f"layer{i}", lib,
                                 cmsis_call(shape))
            (_, peer), ours = count(elf, layer="layer_kernel")
            a, b = ours / shape.macs, peer / shape.macs
            rows.append([shape.name, f"{shape.macs:,}", f"{ours:,}", f"{a:.2f}",
                         _cmsis_kernel(shape), f"{peer:,}", f"{b:.2f}", f"{a / b:.2f}"])
            print(" | ".join(rows[-1]), flush=True)
        for j, (label, graph) in enumerate(network_graphs()):
            folder = scratch / f"net{j}"
            elf = build_firmware(graph, folder, None, None)
            (insns,), _ = count(elf)
            _run(["make", "-s", "-C", str(folder), f"OPT={OPT}", "build/target/app.elf"])
            flash, ram = size_of(folder / "build" / "target" / "app.elf")
            net_rows.append([label, f"{insns:,}", f"{flash:,}", f"{ram:,}"])
            print(" | ".join(net_rows[-1]), flush=True)
    return "\n".join([
        "## Cortex-M7 instruction counts: n2d2c stm32 vs CMSIS-NN (QEMU)\n",
        f"`benchmarks/cortex_m.py`: {MCU} (`{' '.join(cpu_flags())} {OPT}`), QEMU mps2-an500, "
        "`-singlestep -d exec,nochain`, instructions between marker functions. "
        f"{versions()}.\n",
        markdown_table(["layer", "MACs", "n2d2c insns", "n2d2c /MAC", "CMSIS-NN kernel",
                        "CMSIS-NN insns", "CMSIS-NN /MAC", "ratio"], rows),
        "",
        "Per inference (the whole `network_run`, float input quantized and output "
        "dequantized included); flash = text + data, RAM = data + bss of the chip build "
        "(`make`, the project's own testbench and one test vector):\n",
        markdown_table(["network", "instructions", "flash B", "RAM B"], net_rows),
        "",
    ])


if __name__ == "__main__":
    print(run())
