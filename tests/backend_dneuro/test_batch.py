"""G_BATCH_SIZE > 1: frames stream side by side, a beat carrying the same pixel of each
(N2D2's interface widens i_data/o_data by G_BATCH_SIZE).  The frames share the control
and the weights; each MAC lane has one multiplier per frame.  GHDL == emulator ==
integer simulator bit for bit, under gaps and back-pressure, and the estimate (cycles of
a batch, DSPs) is what GHDL and yosys measure."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from n2d2c.errors import UsageError
from n2d2c.examples.dneuro_nets import Builder
from n2d2c.ir import ops
from support import require_tool

from .harness import check_all, export, manifest, read_pixels, simulate_rtl


def every_kind():
    """One network with a block of every kind (conv, sum over a fork, depthwise, concat,
    max pooling, resize, logistic table, standalone rescale; top-1 and RGB are added by
    OutputMapToRGB)."""
    b = Builder("batch", (1, 3, 6, 6), seed=11)
    a = b.conv(b.x, 3, 1, pads=(0, 0, 0, 0), shift=6, mode="fixed-point16")
    s = b.add(a, b.x, shift=1)
    d = b.conv(s, 3, 3, group=3, shift=7, mode="double-shift")
    c = b.g.add(ops.Concat(name="cat", axis=1), [d, s]).output
    p = b.maxpool(c, 2, 2)
    r = b.g.add(ops.Resize(name="up", sizes=(1, 6, 6, 6), scales=(1, 1, 2, 2),
                           coordinate_transformation_mode="asymmetric",
                           nearest_mode="floor"), [p]).output
    table = np.clip(np.round(1 / (1 + np.exp(-np.arange(-128, 128) * 0.05)) * 255), 0, 255)
    t = b.g.constant(table.astype(np.uint8), "sigmoid_table")
    lg = b.g.add(ops.Lookup(name="logistic", function="sigmoid"), [r, t]).output
    return b.done(b.conv(lg, 4, 3, shift=11))


@pytest.mark.parametrize("batch", [2, 3])
def test_a_batch_streams_side_by_side_bit_exact(tmp_path, batch):
    out = export(every_kind(), tmp_path / "net", nb_dsps=0, frames=2 * batch,
                 batch_size=batch, output_map_to_rgb=True)
    kinds = {layer["kind"] for layer in manifest(out)["layers"]}
    assert {"conv", "depthwise", "sum", "concat", "maxpool", "resize", "logistic", "top1",
            "rgb"} <= kinds, kinds
    cycles = check_all(out, gap=30, stall=30, seed=batch)
    assert len(cycles) == 2            # one end per batch: the frames left side by side
    estimated = manifest(out)["estimate"]["cycles_per_frame"]
    assert cycles[1] - cycles[0] == estimated


def test_batch_is_a_real_generic(tmp_path):
    """A design exported for batch 1 simulated with -gG_BATCH_SIZE=2 (the testbench
    passes it down): the same outputs, and the batch takes the cycles of one frame."""
    b = Builder("gen", (1, 2, 6, 6), seed=5)
    out = export(b.done(b.maxpool(b.conv(b.x, 4, 3, shift=8, relu=True), 2, 2)),
                 tmp_path / "g", frames=4)
    single = simulate_rtl(out)
    require_tool("ghdl")
    run = subprocess.run(["make", "-s", "-C", str(out), "sim",
                          "SIMFLAGS=-gG_BATCH_SIZE=2 -gG_GAP_PERCENT=20 -gG_STALL_PERCENT=20"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "DNEURO PASS" in run.stdout + run.stderr, run.stdout[-2000:]
    np.testing.assert_array_equal(read_pixels(out / "out_file" / "out.txt"),
                                  read_pixels(out / "expected" / "output.txt"))
    assert len(single) == 4
    assert single[1] - single[0] == manifest(out)["estimate"]["cycles_per_frame"]


def test_batch_estimate_and_errors(tmp_path):
    b = Builder("est", (1, 2, 6, 6), seed=5)
    graph = b.done(b.conv(b.x, 4, 3, shift=8, mode="fixed-point16"))
    one = manifest(export(graph, tmp_path / "b1", nb_dsps=0, frames=2))["estimate"]
    two = manifest(export(graph, tmp_path / "b2", nb_dsps=0, frames=2,
                          batch_size=2))["estimate"]
    # Same lanes (no DSP limit): twice the multipliers, the same cycles, twice the frames.
    assert two["cycles_per_frame"] == one["cycles_per_frame"]
    assert two["dsps"] == 2 * one["dsps"] and two["mac_dsps"] == 2 * one["mac_dsps"]
    assert two["fps"] == pytest.approx(2 * one["fps"])
    assert two["dsp_utilisation"] == pytest.approx(one["dsp_utilisation"])
    # Within a DSP budget the batch halves the lanes: the pace of a batch is slower.
    limited = manifest(export(graph, tmp_path / "b3", nb_dsps=8, frames=2,
                              batch_size=2))["estimate"]
    assert limited["dsps"] <= 8 and limited["cycles_per_frame"] > one["cycles_per_frame"]
    params = tmp_path / "params.ini"
    params.write_text("BatchSize = 2\n")
    assert manifest(export(graph, tmp_path / "b4", frames=2, export_parameters=str(params)))[
        "parameters"]["batch_size"] == 2
    with pytest.raises(UsageError, match="multiple of BatchSize"):
        export(graph, tmp_path / "b5", frames=3, batch_size=2)
