"""Float-free int8 firmware: ``-X io=integer`` (passes/integer_io.py) gives a quantized
network integer inputs and outputs, so that nothing at its edges quantizes or
dequantizes in floating point.  On cores without an FPU the image then links none of
libgcc's software floating point; on the M7 it has no floating-point arithmetic
instruction.  The firmware equals the integer simulator of the rewritten graph bit for
bit, and its uint8 probabilities are the float model's to half a level."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from n2d2c import quantization
from n2d2c.errors import UsageError
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.passes.integer_io import IntegerIO
from n2d2c.runtime import simulate
from quantization.quant_models import digits_arrays, digits_graph

from .firmware import build_and_run, generate, require_arm

# libgcc's software floating point: the AEABI helpers and GCC's own names (__addsf3,
# __floatsisf, __fixdfsi ...).
SOFT_FLOAT = re.compile(r"^__aeabi_(f|d|[iu]l?2[fd]|[fd]2)\w*$|^__\w*(sf|df)\w*$")
# Floating-point arithmetic and conversions (VFP), what hard-float code would use.
VFP_ARITHMETIC = re.compile(r"\tv(add|sub|mul|div|fma|fms|nmul|neg|abs|sqrt|cvt|cmp)\.")


@pytest.fixture(scope="module")
def digits():
    """The int8 digits CNN (uint8 input at 1/255, int_softmax output) and a digit."""
    x_test, _, calib = digits_arrays()
    qgraph, _ = quantization.quantize_graph(digits_graph(), calib[:64], {"nbbits": 8})
    return qgraph, x_test[:1]


def _symbols(elf) -> list[str]:
    return [line.split()[-1] for line in subprocess.run(
        ["arm-none-eabi-nm", str(elf)], capture_output=True, text=True,
        check=True).stdout.splitlines()]


def test_the_pass_moves_quantize_and_dequantize_out_of_the_graph():
    g = Graph("edges")
    x = g.add_input("x", TensorType((1, 4)))
    q = g.add(ops.Quantize(name="q", scale=0.05, zero_point=3, dtype="i8"), [x]).output
    r = g.add(ops.Relu(name="relu"), [q]).output
    g.outputs = [g.add(ops.Dequantize(name="out", scale=0.05, zero_point=3), [r],
                       ["y"]).output]
    feed = np.array([[-1.0, 0.02, 0.5, 9.0]], np.float32)
    want = simulate(g, {"x": feed})["y"]
    IntegerIO().apply(g)
    assert not g.ops_of(ops.Quantize, ops.Dequantize)
    assert [(v.name, v.type.dtype.value) for v in g.inputs + g.outputs] == [("x", "i8"),
                                                                          ("y", "i8")]
    edges = g.metadata["io_quantization"]
    assert edges["x"] == {"scale": 0.05, "zero_point": 3, "dtype": "i8"}
    # The caller's side of the edges: quantize, run, dequantize; the same numbers.
    levels = np.clip(np.floor(np.abs(feed / 0.05) + 0.5) * np.sign(feed) + 3, -128, 127)
    got = simulate(g, {"x": levels.astype(np.int8)})["y"]
    np.testing.assert_allclose((got.astype(np.float32) - 3) * 0.05, want, rtol=1e-6)


def test_a_float_graph_cannot_have_integer_edges(tmp_path):
    g = Graph("float")
    x = g.add_input("x", TensorType((1, 4)))
    g.outputs = [g.add(ops.Relu(name="relu"), [x]).output]
    with pytest.raises(UsageError, match="input %x is not quantized right away"):
        generate(g, tmp_path / "f", "cortex-m3", {"x": np.zeros((1, 4), np.float32)},
                 io="integer")
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("mcu", ["cortex-m3", "cortex-m0", "stm32h7"])
def test_integer_io_firmware_has_no_floating_point(digits, tmp_path, mcu):
    require_arm()
    qgraph, x = digits
    levels = np.clip(np.floor(x * 255.0 + 0.5), 0, 255).astype(np.uint8)  # 1/255, u8
    out, (probs,), _ = build_and_run(qgraph, tmp_path / mcu, mcu, {"input": levels},
                                     io="integer")
    assert probs.dtype == np.uint8 and probs.shape == (1, 10)
    # The float-edged graph's probabilities (float32 e / sum): within half a level.
    want = simulate(qgraph, {"input": x})[qgraph.outputs[0].name]
    assert np.abs(probs / 255.0 - want).max() <= 0.5 / 255 + 1e-6
    assert "quantized: real value (q - 0) * 0.00392156863" in (out / "network.h").read_text()
    elf = out / "build" / "qemu" / "app.elf"
    if mcu == "stm32h7":
        code = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True,
                              text=True, check=True).stdout
        assert not VFP_ARITHMETIC.findall(code)
    else:
        assert not [s for s in _symbols(elf) if SOFT_FLOAT.match(s)]


def test_float_edges_do_link_software_floating_point(digits, tmp_path):
    """What the check above looks for is there when the firmware does quantize and
    dequantize (the default, -X io=float) on a core without an FPU."""
    require_arm()
    qgraph, x = digits
    out, _, _ = build_and_run(qgraph, tmp_path / "m3", "cortex-m3", {"input": x})
    assert [s for s in _symbols(out / "build/qemu/app.elf") if SOFT_FLOAT.match(s)]
