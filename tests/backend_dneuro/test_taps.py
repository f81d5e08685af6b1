"""Kernel-tap parallelism: once a conv's input channels are all taken at once (a first
conv with one input channel), the allocation multiplies several taps of a kernel row per
cycle (one line-buffer read port each).  GHDL == emulator == integer simulator bit for bit
under gaps/back-pressure, with a kernel width that is not a multiple of the tap lanes
(the missing taps read as zero) and padding, and the estimate equals GHDL's cycles."""

from __future__ import annotations

import pytest

from n2d2c.errors import UsageError
from n2d2c.examples import dneuro_nets as models
from n2d2c.examples.dneuro_nets import Builder

from .harness import check_all, export, manifest


def _first_conv(b):
    return b.conv(b.x, 2, 5, pads=(2, 1, 0, 2), shift=9, relu=True)


def _depthwise(b):
    return b.conv(b.x, 2, 3, stride=2, group=2, pads=(1, 1, 1, 1), shift=7)


@pytest.mark.parametrize("case, channels, dsps, taps", [
    (_first_conv, 1, 3, 3), (_first_conv, 1, 10, 5), (_depthwise, 2, 3, 3)],
    ids=["5x5_by_3_taps", "5x5_whole_row", "depthwise_3x3_stride2"])
def test_taps_in_parallel_are_bit_exact_and_estimated(tmp_path, case, channels, dsps, taps):
    b = Builder("taps", (1, channels, 7, 9), seed=taps)
    out = export(b.done(case(b)), tmp_path / "t", nb_dsps=dsps, frames=2)
    layer = manifest(out)["estimate"]["layers"][0]
    assert layer["channel_lanes"] == 1 and layer["tap_lanes"] == taps, layer
    cycles = check_all(out, gap=30, stall=30, seed=taps)
    assert cycles[1] - cycles[0] == layer["cycles"] == manifest(out)["estimate"][
        "cycles_per_frame"]


def test_per_layer_debug_keys_fix_the_instantiation(tmp_path):
    """N2D2's per-layer keys in a [layer] section of the parameters file: lanes (outputs),
    input channels and kernel-row taps of a conv are what they say, the rest balances
    around them; GHDL agrees bit for bit and in cycles."""
    params = tmp_path / "params.ini"
    params.write_text("NbDSPs = 40\n[conv3]\nNbOutputsInstantiation = 2\n"
                      "KernelWidthInstantiation = 5\nKernelHeightInstantiation = 1\n"
                      "RTLType = conv\n[conv8]\nNbChannelsInstantiation = 3\n")
    out = export(models.lenet_like(), tmp_path / "k", export_parameters=str(params), frames=2)
    layers = {r["name"]: r for r in manifest(out)["estimate"]["layers"]}
    assert (layers["conv3"]["lanes"], layers["conv3"]["tap_lanes"]) == (2, 5)
    assert layers["conv8"]["channel_lanes"] == 3
    cycles = check_all(out, gap=0, stall=0)
    assert cycles[1] - cycles[0] == manifest(out)["estimate"]["cycles_per_frame"]


@pytest.mark.parametrize("section, message", [
    ("[nope]\nNbOutputsInstantiation = 2", "unknown layer"),
    ("[conv3]\nKernelHeightInstantiation = 5", "KernelHeightInstantiation must be 1"),
    ("[conv3]\nNbOutputsInstantiation = 7", "not in 1 .. 6"),
    ("[conv3]\nRTLType = CONV_Tn_Oy_CHy_K1_Sy_P1", "one block per kind"),
    ("[pool5]\nNbOutputsInstantiation = 2", "conv blocks only")])
def test_per_layer_debug_keys_are_checked(tmp_path, section, message):
    params = tmp_path / "params.ini"
    params.write_text(section + "\n")
    with pytest.raises(UsageError, match=message):
        export(models.lenet_like(), tmp_path / "e", export_parameters=str(params), frames=1)
