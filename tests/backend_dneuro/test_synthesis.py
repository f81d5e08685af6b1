"""The generated RTL is synthesizable: ``ghdl --synth`` elaborates the whole network and
writes a Verilog netlist (Debian's yosys has no ghdl plugin), which yosys' Xilinx flow maps
to FPGA cells.  The DSP48E1 it maps are the estimate's: one per MAC lane, and the
rescale products' (hardware.rescale_dsps); the LUT/DSP/BRAM counts are recorded."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from support import require_tool

from n2d2c.examples import dneuro_nets as models
from .harness import export, manifest
from n2d2c.examples.dneuro_nets import Builder


def cell_counts(stat: str) -> dict[str, int]:
    """The cell counts of the top-level summary of yosys' ``stat``."""
    top = stat.split("=== design hierarchy ===")[-1]
    return {name: int(n) for name, n in re.findall(r"^\s+(\w+)\s+(\d+)$", top, re.M)}


def _netlist(out) -> str:
    subprocess.run(["make", "-s", "-C", str(out), "build/network.v"], check=True,
                   capture_output=True)
    return (out / "build" / "network.v").read_text()


def test_ghdl_synth_elaborates_every_network(tmp_path):
    require_tool("ghdl", "make")
    for name, build in models.NETWORKS.items():
        if name != "quantized_lenet28":
            netlist = _netlist(export(build(), tmp_path / name, frames=1))
            assert re.search(r"^module network\b", netlist, re.M)


def test_ghdl_synth_elaborates_every_block_kind(tmp_path):
    """Each block of test_layers (and OutputMapToRGB) through ghdl --synth."""
    require_tool("ghdl", "make")
    from .test_layers import CASES
    kinds = set()
    for name, case in sorted(CASES.items()):
        b = Builder(name, (1, 3, 5, 5), seed=len(name))
        out = export(b.done(case(b)), tmp_path / name, frames=1, output_map_to_rgb=True)
        kinds.update(layer["kind"] for layer in manifest(out)["layers"])
        assert re.search(r"^module network\b", _netlist(out), re.M), name
    assert kinds == {"conv", "depthwise", "maxpool", "resize", "sum", "scale", "concat",
                     "top1", "logistic", "rgb"}


def test_yosys_xilinx_flow_maps_one_dsp_per_mac_lane(tmp_path):
    require_tool("ghdl", "yosys", "make")
    b = Builder("tiny", (1, 2, 4, 4), seed=1)
    # a fixed-point16 rescale: one DSP48E1 per lane for its product (24 x 17 bits fit)
    out = export(b.done(b.conv(b.x, 3, 3, shift=8, relu=True, mode="fixed-point16")),
                 tmp_path / "tiny", nb_dsps=4, frames=1)
    subprocess.run(["make", "-s", "-C", str(out), "synth", "YOSYS_SYNTH=synth_xilinx"],
                   check=True, capture_output=True, timeout=600)
    counts = cell_counts((out / "build" / "synth_xilinx.stat").read_text())
    layer = manifest(out)["estimate"]["layers"][0]
    lanes = layer["lanes"] * layer["channel_lanes"] * layer["tap_lanes"]   # MAC multipliers
    assert lanes >= 2 and layer["dsps"] == lanes + layer["lanes"], layer
    assert counts.get("DSP48E1") == layer["dsps"], counts
    luts = sum(n for cell, n in counts.items() if cell.startswith("LUT"))
    brams = sum(n for cell, n in counts.items() if cell.startswith(("RAMB", "RAM32", "RAM64")))
    assert luts > 0
    (tmp_path / "resources.json").write_text(json.dumps(
        {"luts": luts, "dsps": counts["DSP48E1"], "ram_cells": brams}))
    print(f"yosys synth_xilinx: {luts} LUTs, {counts['DSP48E1']} DSP48E1, {brams} RAM cells")


def _fixed_point_conv(bias_bits: int):
    """A conv with a fixed-point16 rescale; a bias of 2^bias_bits widens |a - in_zp|."""
    import numpy as np
    from n2d2c.ir import ops
    b = Builder("rescale", (1, 1, 3, 3), seed=2)
    w = b.g.constant(b.rng.integers(-127, 128, (1, 1, 3, 3)).astype(np.int8), "w")
    bias = b.g.constant(np.array([1 << bias_bits], np.int32), "bias")
    acc = b.g.add(ops.Conv2d(name="conv", pads=(1, 1, 1, 1)), [b.x, w, bias]).output
    return b.done(b.rescale(acc, shift=bias_bits - 6, mode="fixed-point16", channels=1))


@pytest.mark.parametrize("bias_bits, per_lane", [(26, 2)])
def test_yosys_maps_the_estimated_rescale_dsps(tmp_path, bias_bits, per_lane):
    """The rescale product is an unsigned |a - in_zp| x multiplier of the widths the values
    need: one DSP48E1 while they fit 24 x 17 bits (the test above), two past that, as the
    estimate says."""
    require_tool("ghdl", "yosys", "make")
    out = export(_fixed_point_conv(bias_bits), tmp_path / "r", nb_dsps=2 + per_lane, frames=1)
    layer = manifest(out)["estimate"]["layers"][0]
    mac = layer["lanes"] * layer["channel_lanes"] * layer["tap_lanes"]
    assert layer["dsps"] == mac + per_lane * layer["lanes"], layer
    subprocess.run(["make", "-s", "-C", str(out), "synth", "YOSYS_SYNTH=synth_xilinx"],
                   check=True, capture_output=True, timeout=600)
    counts = cell_counts((out / "build" / "synth_xilinx.stat").read_text())
    assert counts.get("DSP48E1") == layer["dsps"], counts
