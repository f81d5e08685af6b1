"""OutputMapToRGBBinaryThresholdLow: the binary map's hysteresis in raster order, the same
in GHDL, the emulator and rgb.reference (numpy), bit for bit; Low >= High (or no Low)
changes nothing."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from support import require_tool

from n2d2c.examples.dneuro_nets import Builder

from .harness import check_all, export, manifest, read_pixels

FRAMES = 2
H, W = 7, 9


def _one_channel(name):
    b = Builder(name, (1, 3, H, W), seed=11)
    return b.done(b.conv(b.x, 1, 3, shift=9))


def _scores(out):
    """The conv's output (the map the block thresholds), frame by frame, [frames, H, W]."""
    conv = manifest(out)["layers"][0]["file"]
    return read_pixels(out / "expected" / conv).reshape(FRAMES, H, W)


@pytest.mark.parametrize("batch", [1, 2])
def test_hysteresis_is_bit_exact_and_changes_the_plain_threshold(tmp_path, batch):
    plain = export(_one_channel("plain"), tmp_path / "plain", frames=FRAMES)
    scores = _scores(plain)
    low, high = (int(v) for v in np.percentile(scores, [35, 80]))
    params = tmp_path / "params.ini"
    params.write_text(f"OutputMapToRGB = 1\nOutputMapToRGBColorMasks = 000000 ffffff\n"
                      f"OutputMapToRGBBinaryThreshold = {high}\n"
                      f"OutputMapToRGBBinaryThresholdLow = {low}\n")
    out = export(_one_channel("hyst"), tmp_path / "hyst", frames=FRAMES,
                 export_parameters=str(params), batch_size=batch)
    assert manifest(out)["parameters"]["output_map_to_rgb_binary_threshold_low"] == low
    check_all(out, gap=35, stall=40, seed=3)      # GHDL == emulator == rgb.reference
    np.testing.assert_array_equal(_scores(out), scores)
    # Pixels in all three bands, and the hysteresis makes some middle ones foreground.
    assert (scores > high).any() and (scores <= low).any()
    middle = (scores > low) & (scores <= high)
    assert middle.any()
    fg = read_pixels(out / "expected" / "output.txt")[:, 0].reshape(FRAMES, H, W) == 255
    np.testing.assert_array_equal(fg[scores > high], True)
    np.testing.assert_array_equal(fg[scores <= low], False)
    assert fg[middle].any() and not fg[middle].all()
    assert (fg != (scores > high)).any()
    # Each middle pixel follows its causal neighbours (recomputed here, not by rgb.py).
    for f, y, x in zip(*np.nonzero(middle)):
        near = (x > 0 and fg[f, y, x - 1]) or (y > 0 and fg[f, y - 1, x])
        assert fg[f, y, x] == near, (f, y, x)


def test_hysteresis_block_synthesizes_and_is_estimated(tmp_path):
    require_tool("ghdl", "make")
    out = export(_one_channel("synth"), tmp_path / "synth", frames=1, output_map_to_rgb=True,
                 output_map_to_rgb_binary_threshold=5, output_map_to_rgb_binary_threshold_low=-5)
    assert "line_fg" in (out / "rtl" / "l_output_map_to_rgb.vhd").read_text()
    # The estimate counts its line of decisions.
    plain = export(_one_channel("synth"), tmp_path / "plain", frames=1, output_map_to_rgb=True,
                   output_map_to_rgb_binary_threshold=5)
    calc = [manifest(o)["estimate"]["layers"][-1]["calc_bytes"] for o in (plain, out)]
    assert calc[1] > calc[0], calc
    subprocess.run(["make", "-s", "-C", str(out), "build/network.v"], check=True,
                   capture_output=True)
    assert re.search(r"^module network\b", (out / "build" / "network.v").read_text(), re.M)


def test_a_low_threshold_at_or_above_high_changes_nothing(tmp_path):
    options = dict(frames=FRAMES, output_map_to_rgb=True, output_map_to_rgb_binary_threshold=2)
    base = export(_one_channel("same"), tmp_path / "base", **options)
    for k, low in enumerate((2, 9, "2")):     # equal, above, and as a -X string
        out = export(_one_channel("same"), tmp_path / f"low{k}",
                     output_map_to_rgb_binary_threshold_low=low, **options)
        files = sorted(p.relative_to(base) for p in base.rglob("*")
                       if p.is_file() and p.name != "network.json")
        assert any(str(f).startswith("rtl/") for f in files)
        for f in files:
            assert (base / f).read_bytes() == (out / f).read_bytes(), (low, f)
    check_all(base, gap=0, stall=0)


def test_a_low_threshold_that_is_not_an_integer_is_a_clear_error(tmp_path):
    import pytest

    from n2d2c.errors import InputError
    with pytest.raises(InputError, match="export parameter OutputMapToRGBBinaryThresholdLow"):
        export(_one_channel("bad"), tmp_path / "bad", output_map_to_rgb=True,
               output_map_to_rgb_binary_threshold_low="low")
