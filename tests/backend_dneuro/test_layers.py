"""Every DNeuro block alone: GHDL simulation (plain, then with random input gaps and
back-pressure) == emulator == n2d2c's integer simulator, bit for bit; and the
cycles per frame the estimate gives are the cycles GHDL measures."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.ir import ops

from .harness import check_all, export, manifest
from n2d2c.examples.dneuro_nets import Builder


def _conv_asymmetric(b):
    return b.conv(b.x, 5, 3, stride=2, pads=(1, 0, 2, 1), shift=9)


def _conv_fixed_point(b):
    return b.conv(b.x, 6, 3, relu=True, shift=7, mode="fixed-point16")


def _depthwise(b):
    return b.conv(b.x, 3, 3, group=3, pads=(1, 1, 1, 1), shift=7, mode="double-shift")


def _maxpool(b):
    return b.maxpool(b.x, 3, 2, pads=(1, 1, 1, 1), ceil_mode=True)


def _global_max(b):
    return b.g.add(ops.GlobalMaxPool(name="gmax"), [b.x]).output


def _fc(b):
    return b.fc(b.x, 7, shift=9)


def _sum(b):
    # A sum of two branches of one stream (a fork with its FIFOs), i8 saturated.
    a = b.conv(b.x, 3, 1, pads=(0, 0, 0, 0), shift=6)
    return b.add(a, b.x, shift=1)


def _scale_and_clip(b):
    r = b.g.add(ops.Rescale(name="standalone", mode="fixed-point16", multipliers=(21000,),
                            shifts=(14,), zero_point=3, input_zero_point=-2), [b.x]).output
    return b.g.add(ops.Clip(name="saturation", min=-20.0, max=50.7), [r]).output


def _resize(b):
    return b.g.add(ops.Resize(name="up", sizes=(1, 3, 10, 15), scales=(1, 1, 2, 3),
                              coordinate_transformation_mode="asymmetric",
                              nearest_mode="floor"), [b.x]).output


def _concat(b):
    a = b.conv(b.x, 2, 3, shift=8)
    return b.g.add(ops.Concat(name="cat", axis=1), [a, b.x]).output


def _top1(b):
    # .Target's top-1 sorting of a conv's classes (ties: the first index, as ArgMax).
    scores = b.conv(b.x, 6, 3, shift=11)
    return b.g.add(ops.ArgMax(name="top1", axis=1, keepdims=True), [scores]).output


def _top1_last(b):
    return b.g.add(ops.ArgMax(name="top1_last", axis=1, select_last_index=True), [b.x]).output


def _logistic(b):
    # The quantizer's form of a Logistic activation: a table of the 8-bit input.
    x = np.arange(-128, 128) * 0.05
    table = np.clip(np.round(1 / (1 + np.exp(-x)) * 255), 0, 255).astype(np.uint8)
    t = b.g.constant(table, "sigmoid_table")
    return b.g.add(ops.Lookup(name="logistic", function="sigmoid"), [b.x, t]).output


CASES = {
    "logistic_table": _logistic,
    "top1_sorting": _top1,
    "top1_sorting_last_index": _top1_last,
    "conv_stride2_asymmetric_pads": _conv_asymmetric,
    "conv_fixed_point16_relu": _conv_fixed_point,
    "depthwise_double_shift": _depthwise,
    "maxpool_padded_ceil": _maxpool,
    "global_maxpool": _global_max,
    "fully_connected": _fc,
    "elementwise_sum": _sum,
    "standalone_rescale_and_saturation": _scale_and_clip,
    "nearest_resize": _resize,
    "implicit_concat": _concat,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_block_is_bit_exact_under_gaps_and_back_pressure(tmp_path, name):
    b = Builder(name, (1, 3, 5, 5), seed=len(name))
    graph = b.done(CASES[name](b))
    out = export(graph, tmp_path / name, nb_dsps=3, frames=2)
    cycles = check_all(out, gap=35, stall=40, seed=len(name))
    estimated = manifest(out)["estimate"]["cycles_per_frame"]
    measured = cycles[1] - cycles[0]
    assert abs(measured - estimated) <= max(2, 0.1 * estimated), (measured, estimated)


def test_a_wrong_expected_value_fails_the_testbench(tmp_path):
    """The testbench is not a rubber stamp: one corrupted expected value fails `make sim`."""
    import subprocess

    from support import require_tool
    require_tool("ghdl")
    b = Builder("bad", (1, 3, 5, 5))
    out = export(b.done(_conv_asymmetric(b)), tmp_path / "bad", frames=1)
    path = out / "expected" / "output.txt"
    lines = path.read_text().splitlines()
    first = lines[0].split()
    first[0] = str(int(first[0]) + 1)
    lines[0] = " ".join(first)
    path.write_text("\n".join(lines) + "\n")
    run = subprocess.run(["make", "-s", "-C", str(out), "sim"], capture_output=True, text=True)
    assert run.returncode != 0
    assert "DNEURO MISMATCH pixel 0 channel 0" in run.stdout + run.stderr


def test_weights_change_the_rtl_output(tmp_path):
    """Two different weight sets give different expected outputs (the comparison has teeth)."""
    outs = []
    for seed in (1, 2):
        b = Builder("w", (1, 3, 5, 5), seed=seed)
        out = export(b.done(_conv_fixed_point(b)), tmp_path / f"s{seed}", frames=1, seed=4)
        outs.append((out / "expected" / "output.txt").read_text())
    assert outs[0] != outs[1]
    assert np.loadtxt(tmp_path / "s1" / "stimuli" / "input.txt").size == 75


@pytest.mark.parametrize("binary", [False, True], ids=["classes", "binary"])
def test_output_map_to_rgb(tmp_path, binary):
    """OutputMapToRGB colours the class map (top-1 of 4 classes, or a one-channel map above
    OutputMapToRGBBinaryThreshold); the background class is black. GHDL and the emulator
    equal the numpy colouring of the simulator's output."""
    b = Builder("rgb", (1, 3, 5, 5), seed=3)
    scores = b.conv(b.x, 1 if binary else 4, 3, shift=10)
    out = export(b.done(scores), tmp_path / "rgb", frames=2, output_map_to_rgb=True,
                 output_map_to_rgb_color_masks="ff0000 00ff00 0000ff 123456",
                 output_map_to_rgb_background_class=1, output_map_to_rgb_binary_threshold=3)
    check_all(out, gap=30, stall=30)
    from n2d2c.runtime import simulate
    assert manifest(out)["output"]["channels"] == 3
    rgb = np.loadtxt(out / "expected" / "output.txt", dtype=np.int64)
    # The colours are the table's: recomputed here from the simulator's scores.
    scores_value = b.g.outputs[0].producer.inputs[0]
    frames = []
    stimuli = np.loadtxt(out / "stimuli" / "input.txt", dtype=np.int64)
    for k in range(2):
        sim = simulate(b.g.view([scores_value]), {"x": _dequantized(stimuli[25 * k:25 * (k + 1)])})
        s = np.asarray(sim[scores_value.name]).reshape(-1, 25)
        cls = (s[0] > 3).astype(int) if binary else np.argmax(s, axis=0)
        table = np.array([[255, 0, 0], [0, 0, 0], [0, 0, 255], [0x12, 0x34, 0x56]])
        frames.append(table[cls])
    np.testing.assert_array_equal(rgb, np.concatenate(frames))


def _dequantized(pixels):
    """Float inputs that quantize (scale 0.05) back to these i8 pixels exactly."""
    return (pixels.T.reshape(1, 3, 5, 5) * 0.05).astype(np.float32)


def test_sixteen_bit_streams(tmp_path):
    """i16 maps (G_DATA_LENGTH = 16): a conv with i16 weights between i16 tensors."""
    from n2d2c.ir import Graph, TensorType
    rng = np.random.default_rng(16)
    g = Graph("i16")
    x = g.add_input("x", TensorType((1, 2, 5, 5)))
    q = g.add(ops.Quantize(name="q", scale=0.001, dtype="i16"), [x]).output
    w = g.constant(rng.integers(-3000, 3000, (3, 2, 3, 3)).astype(np.int16), "w")
    b = g.constant(rng.integers(-9000, 9000, 3).astype(np.int64), "b")
    acc = g.add(ops.Conv2d(name="conv16", pads=(1, 1, 1, 1)), [q, w, b]).output
    y = g.add(ops.Rescale(name="rs16", mode="single-shift", shifts=(13,), dtype="i16"),
              [acc]).output
    g.outputs = [g.add(ops.Dequantize(name="out", scale=0.01), [y]).output]
    out = export(g, tmp_path / "i16", frames=2, nb_dsps=3)
    assert manifest(out)["data_length"] == 16
    check_all(out, gap=20, stall=20)
    assert np.abs(np.loadtxt(out / "expected" / "output.txt")).max() > 127
