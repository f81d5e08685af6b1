"""The stm32 target: firmware built with arm-none-eabi-gcc -Werror and run under qemu-system-arm.

Quantized networks (every integer case of the C++ backend's tests: one-op cases, LeNet
in each rescaling mode, residual, inverted residual with depthwise convolutions,
inception-like concats, plus the trained digits CNN) run as one firmware per core, on a
Cortex-M7 and a Cortex-M4 (DSP kernels) and a Cortex-M3 (plain C), and must equal the
integer simulator bit for bit (every integer intermediate is observed through an exact
``dequantize {scale = 1}`` output).  A float model is compared with onnxruntime; a model
too big for its chip must fail with the size error.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from backend_cpp.harness import assert_close, import_case, merge_graphs, run_ort
from backend_cpp.test_models import CASES as FLOAT_CASES
from backend_cpp.test_quantized import CASES as INT_CASES
from backend_cpp.test_quantized import QCase, assert_matches_simulator, observe_integers
from n2d2c import quantization
from n2d2c.backends.registry import get_backend
from n2d2c.errors import ResourceLimitError
from n2d2c.ir import Graph, TensorType, ops
from quantization.quant_models import digits_arrays, digits_graph

from .firmware import build, build_and_run, generate, require_arm, run_qemu

DSP_CORES = ("stm32h7", "cortex-m4")
CORES = DSP_CORES + ("cortex-m3",)


def _digits_case() -> QCase:
    x_test, _, calib = digits_arrays()
    qgraph, _ = quantization.quantize_graph(digits_graph(), calib[:64], {"nbbits": 8})
    return QCase("digits_cnn", observe_integers(qgraph), {"input": x_test[:1]})


@pytest.fixture(scope="module")
def int_cases():
    return INT_CASES + [_digits_case()]


def _build_integer(root, cases, mcu):
    graphs = [(f"q{i}", c.graph) for i, c in enumerate(cases)]
    merged = merge_graphs(graphs, "quantized")
    feeds = {f"{prefix}.{name}": value for (prefix, _), c in zip(graphs, cases)
             for name, value in c.feeds.items()}
    out, results, _ = build_and_run(merged, root / mcu, mcu, feeds)
    by_case, k = {}, 0
    for (prefix, g), c in zip(graphs, cases):
        by_case[c.name] = results[k:k + len(g.outputs)]
        k += len(g.outputs)
    return {"outputs": by_case, "network": (out / "network.c").read_text(),
            "elf": str(out / "build" / "qemu" / "app.elf")}


@pytest.fixture(scope="module", params=CORES)
def integer_firmware(request, tmp_path_factory, int_cases):
    require_arm()
    mcu = request.param
    return mcu, _build_integer(tmp_path_factory.mktemp(f"stm32_{mcu}"), int_cases, mcu)


def test_integer_firmware_matches_simulator_bit_for_bit(integer_firmware, int_cases):
    mcu, built = integer_firmware
    for case in int_cases:
        assert_matches_simulator(case, built["outputs"][case.name])


def test_dsp_kernels_only_on_dsp_cores(integer_firmware):
    """M7/M4 builds use SMLAD in their convolutions and dense layers; the M3 has none."""
    mcu, built = integer_firmware
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", built["elf"]],
                                 capture_output=True, text=True, check=True).stdout
    symbols = subprocess.run(["arm-none-eabi-nm", built["elf"]], capture_output=True,
                             text=True, check=True).stdout
    assert "malloc" not in symbols and "_sbrk" not in symbols
    if mcu in DSP_CORES:
        assert "__smlad(" in built["network"] and "\tsmlad\t" in disassembly
    else:
        assert "__smlad" not in built["network"] and "\tsmlad\t" not in disassembly


@pytest.mark.parametrize("mcu", ["stm32h7", "cortex-m3"])
def test_fused_fixed_point_requantization_is_32_bit_and_bit_exact(tmp_path, mcu):
    """The digits CNN quantized as by default (Fixed-point16, rescales fused into the
    convolutions and dense layers: nothing observed in between) requantizes its int32
    accumulators with 32-bit arithmetic, SSAT/USAT on the M7, a 32-bit clamp on the M3,
    and its firmware still equals the integer simulator (the testbench's PASS)."""
    require_arm()
    x_test, _, calib = digits_arrays()
    qgraph, _ = quantization.quantize_graph(digits_graph(), calib[:64], {"nbbits": 8})
    out, _, _ = build_and_run(qgraph, tmp_path / mcu, mcu, {"input": x_test[:1]})
    network = (out / "network.c").read_text()
    assert "32-bit clamp (exact" in network
    assert ("__ssat(q, 8)" in network or "__usat(q, 7)" in network) == (mcu in DSP_CORES)


@pytest.mark.parametrize("mcu", ["stm32h7", "cortex-m3"])
def test_float_model_matches_onnxruntime(tmp_path, mcu):
    """A float network on the FPU of the M7 and in software floating point on the M3."""
    require_arm()
    case = FLOAT_CASES["inception_like"]
    graph = import_case(case)
    _, got, _ = build_and_run(graph, tmp_path / mcu, mcu, case.feeds)
    assert_close(case, got, run_ort(case.model, case.feeds))


def _tiny_int8_net() -> tuple[Graph, dict]:
    rng = np.random.default_rng(5)
    g = Graph("tiny")
    x = g.add_input("x", TensorType((1, 4, 6, 6)))
    q = g.add(ops.Quantize(name="q", scale=0.05, dtype="i8"), [x]).output
    w = g.constant(rng.integers(-127, 128, (8, 4, 3, 3)).astype(np.int8), "w")
    b = g.constant(rng.integers(-500, 500, 8).astype(np.int32), "b")
    acc = g.add(ops.Conv2d(name="conv", pads=(1, 1, 1, 1)), [q, w, b]).output
    y = g.add(ops.Rescale(name="rs", mode="single-shift", shifts=(8,)), [acc]).output
    g.outputs = [g.add(ops.Dequantize(name="out", scale=0.1), [y]).output]
    return observe_integers(g), {"x": rng.uniform(-6, 6, (1, 4, 6, 6)).astype(np.float32)}


def test_cortex_m0_on_microbit_with_the_arena_in_a_named_section(tmp_path):
    """The M0 (ARMv6-M, 16 KiB of RAM on QEMU's micro:bit) runs an int8 network bit for bit;
    the arena sits in the section -X arena-section names, placed in RAM by the script."""
    require_arm()
    graph, feeds = _tiny_int8_net()
    out, got, _ = build_and_run(graph, tmp_path / "m0", "cortex-m0", feeds,
                                arena_section=".n2d2c_arena")
    assert_matches_simulator(QCase("tiny", graph, feeds), got)
    headers = subprocess.run(["arm-none-eabi-objdump", "-h", str(out / "build/qemu/app.elf")],
                             capture_output=True, text=True, check=True).stdout
    arena = [line.split() for line in headers.splitlines() if ".n2d2c_arena" in line]
    assert arena and int(arena[0][2], 16) >= 1, headers
    assert int(arena[0][3], 16) >= 0x20000000       # its VMA is in RAM
    assert 'section(".n2d2c_arena")' in (out / "network.c").read_text()


def test_a_stale_read_or_a_wrong_expected_output_fails_under_qemu(tmp_path):
    """The testbench is not a rubber stamp: a corrupted expected output makes it print
    FAIL and exit non-zero."""
    require_arm()
    graph, feeds = _tiny_int8_net()
    out = generate(graph, tmp_path / "bad", "cortex-m4", feeds)
    vectors = (out / "vectors.c").read_text()
    # The first expected output's first byte literal: flip it.
    marker = "vector0_out0_bytes"
    at = vectors.index('"', vectors.index(marker)) + 1
    # The 4th byte (sign and exponent of the first float32), one byte for one byte: an
    # octal escape becomes another, a character another.
    for _ in range(3):
        at += 4 if vectors[at] == "\\" else 1
    width = 4 if vectors[at] == "\\" else 1
    old = vectors[at:at + width]
    new = ("\\377" if old != "\\377" else "\\376") if width == 4 else ("A" if old != "A" else "B")
    vectors = vectors[:at] + new + vectors[at + width:]
    (out / "vectors.c").write_text(vectors)
    build(out)
    proc = run_qemu(out)
    assert proc.returncode != 0 and "outputs match: FAIL" in proc.stdout, proc.stdout[-2000:]


def _big_dense(n: int, size: int) -> Graph:
    g = Graph("big")
    x = g.add_input("x", TensorType((1, 3, size, size)))
    flat = g.add(ops.Reshape(name="flat", shape=(1, 3 * size * size)), [x]).output
    w = g.constant(np.zeros((3 * size * size, n), np.float32) + 0.01, "fc_w")
    g.outputs = [g.add(ops.MatMul(name="fc"), [flat, w]).output]
    return g


def test_a_model_too_big_for_the_chip_fails_clearly(tmp_path):
    """Too much flash (a 3 MiB float weight on a 2 MiB STM32H7) and too much RAM (a 48 KiB
    activation on a 32 KiB Cortex-M0 part): ResourceLimitError saying by how much and
    naming the biggest weights and buffers; no project folder is left."""
    graph = _big_dense(256, 32)           # 3072 x 256 floats: 3 MiB of weights
    with pytest.raises(ResourceLimitError) as err:
        generate(graph, tmp_path / "flash", "stm32h7",
                 {"x": np.zeros((1, 3, 32, 32), np.float32)}, flash_kib=0, ram_kib=0)
    text = str(err.value)
    assert "does not fit" in text and "flash needs" in text and "more than its 2097152" in text
    assert "w_fc" in text or "fc_w" in text, text
    assert not (tmp_path / "flash").exists()

    g = Graph("wide")
    x = g.add_input("x", TensorType((1, 3, 64, 64)))
    g.outputs = [g.add(ops.Relu(name="relu"), [x]).output]
    with pytest.raises(ResourceLimitError) as err:
        generate(g, tmp_path / "ram", "cortex-m0", {"x": np.zeros((1, 3, 64, 64), np.float32)})
    text = str(err.value)
    assert "RAM needs" in text and "more than its 32768" in text and "biggest buffers" in text
    # With the check off the same model is generated, its report still says it is too big.
    out = generate(g, tmp_path / "ram", "cortex-m0", {"x": np.zeros((1, 3, 64, 64), np.float32)},
                   check_size=False)
    assert "too many" in (out / "size_report.txt").read_text()


def test_stm32_backend_is_registered_with_its_options():
    backend = get_backend("stm32")
    assert backend.plans_memory
    names = {o.name for o in backend.options}
    assert {"mcu", "arena_section", "vectors", "check_size", "stimuli", "memory"} <= names
    assert backend.resolve_options({"mcu": "STM32F4"})["mcu"] == "stm32f4"


def _depthwise_cases() -> list[QCase]:
    """Depthwise convolutions the DSP kernel (templates/stm32/depthwise_dsp.j2) must get
    right: strides 1 and 2, symmetric, asymmetric and no padding, a dilation, channel
    counts that are and are not multiples of four (the tail loop), int8 and uint8 input,
    with and without bias, int32 accumulators observed and a fused per-channel
    fixed-point rescale (nothing observed between the convolution and its int8 output)."""
    rng = np.random.default_rng(16)
    cases = []

    def case(name, shape, dtype, pads, strides, kernel=(3, 3), dilations=(1, 1), bias=True,
             fused=False):
        c = shape[1]
        g = Graph(name)
        x = g.add_input("x", TensorType(shape))
        q = g.add(ops.Quantize(name="q", scale=0.05, dtype=dtype), [x]).output
        w = g.constant(rng.integers(-128, 128, (c, 1, *kernel)).astype(np.int8), "w")
        inputs = [q, w]
        if bias:
            inputs.append(g.constant(rng.integers(-3000, 3000, c).astype(np.int32), "b"))
        acc = g.add(ops.Conv2d(name="dw", pads=pads, strides=strides, dilations=dilations,
                               group=c), inputs).output
        if fused:
            y = g.add(ops.Rescale(name="rs", mode="fixed-point16",
                                  multipliers=tuple(int(m) for m in rng.integers(9000, 30000, c)),
                                  shifts=(22,) * c), [acc]).output
            g.outputs = [g.add(ops.Dequantize(name="out", scale=0.1), [y]).output]
        else:
            g.outputs = [g.add(ops.Dequantize(name="out", scale=1.0), [acc]).output]
        graph = g if fused else observe_integers(g)
        lo, hi = (0, 12) if dtype == "u8" else (-6, 6)
        cases.append(QCase(name, graph, {"x": rng.uniform(lo, hi, shape).astype(np.float32)}))

    case("dw_s1_p1_i8_c8", (1, 8, 6, 7), "i8", (1, 1, 1, 1), (1, 1))
    case("dw_s2_p1_u8_c7", (1, 7, 7, 6), "u8", (1, 1, 1, 1), (2, 2))
    case("dw_s2_asym_i8_c5_nobias", (1, 5, 6, 6), "i8", (0, 1, 2, 0), (2, 2), bias=False)
    case("dw_s1_p0_u8_c12_dil2", (1, 12, 7, 7), "u8", (0, 0, 0, 0), (1, 1), dilations=(2, 2))
    case("dw_s1_p2_i8_c6_5x3", (1, 6, 5, 6), "i8", (2, 1, 2, 1), (1, 1), kernel=(5, 3))
    case("dw_s1_p1_i8_c16_fused", (1, 16, 5, 5), "i8", (1, 1, 1, 1), (1, 1), fused=True)
    case("dw_s2_p1_u8_c10_fused", (1, 10, 6, 5), "u8", (1, 1, 1, 1), (2, 2), fused=True)
    return cases


@pytest.mark.parametrize("mcu", CORES)
def test_depthwise_convolutions_are_bit_exact(tmp_path, mcu):
    """The int8 depthwise kernel (four channels per load, SMLABB/SMLATT, padding taps read
    from a zero row) on the M7 and M4, the generic convolution on the M3: all equal the
    integer simulator bit for bit."""
    require_arm()
    cases = _depthwise_cases()
    built = _build_integer(tmp_path, cases, mcu)
    for case in cases:
        assert_matches_simulator(case, built["outputs"][case.name])
    assert ("__smlabb(" in built["network"]) == (mcu in DSP_CORES)
