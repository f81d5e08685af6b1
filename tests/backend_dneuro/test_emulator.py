"""The emulator is the shared C emitter's rendering of the integer IR (emulator.py): its
files, the compile-time check of the accumulator width, and its command line.  Its
outputs are checked bit for bit against GHDL and the integer simulator by every
``check_all`` of the other tests."""

from __future__ import annotations

import subprocess

from n2d2c.examples import dneuro_nets as models
from support import require_tool

from .harness import export, manifest


def test_the_emulator_is_rendered_by_the_c_emitter_deterministically(tmp_path):
    a = export(models.residual_block(), tmp_path / "a", frames=1)
    b = export(models.residual_block(), tmp_path / "b", frames=1)
    names = sorted(p.name for p in (a / "emulator").iterdir())
    assert names == ["dneuro_emulator.c", "n2d2c_support.h", "network.c", "network.h",
                     "weights.c", "weights.h"]
    assert "(target dneuro-emulator)" in (a / "emulator" / "network.h").read_text()
    for name in names:
        assert (a / "emulator" / name).read_bytes() == (b / "emulator" / name).read_bytes()


def _build(out, *defines):
    flags = " ".join(["-O1 -std=c99", *defines])
    subprocess.run(["make", "-s", "-C", str(out), "clean"], check=True, capture_output=True)
    return subprocess.run(["make", "-s", "-C", str(out), "emulator",
                           f"EMULATOR_CFLAGS={flags}"], capture_output=True, text=True)


def test_a_narrower_accumulator_than_a_layer_needs_does_not_build(tmp_path):
    """The exporter sizes AccumulationNbBits to every layer's exact accumulator, so nothing
    wraps; the emulator states it at compile time, layer by layer."""
    require_tool("cc", "make")
    out = export(models.lenet_like(), tmp_path / "lenet", frames=1)
    acc = manifest(out)["accumulation_nb_bits"]
    assert _build(out, f"-DACC_NB_BITS={acc}").returncode == 0
    text = (out / "emulator" / "dneuro_emulator.c").read_text()
    needs = {line.split("accumulator_of_")[1].split("[")[0]
             for line in text.splitlines() if line.startswith("typedef char accumulator_of_")}
    assert {n.split("_needs_")[0] for n in needs} == {"conv3", "conv8", "fc14"}
    widest = max(int(n.split("_needs_")[1].split("_")[0]) for n in needs)
    run = _build(out, f"-DACC_NB_BITS={widest - 1}")
    assert run.returncode != 0 and "_needs_" in run.stderr, run.stderr


def test_the_command_line_errors(tmp_path):
    require_tool("cc", "make")
    out = export(models.lenet_like(), tmp_path / "lenet", frames=1)
    subprocess.run(["make", "-s", "-C", str(out), "emulator"], check=True, capture_output=True)
    run = subprocess.run(["./dneuro_emulator", "-bogus", "1"], cwd=out, capture_output=True,
                         text=True)
    assert run.returncode == 2 and "unknown option -bogus" in run.stderr
    (out / "short.txt").write_text("1 2 3\n")
    run = subprocess.run(["./dneuro_emulator", "-stimulus", "short.txt"], cwd=out,
                         capture_output=True, text=True)
    assert run.returncode == 1 and "short stimulus" in run.stderr
    run = subprocess.run(["./dneuro_emulator", "-stimulus", "stimuli/input.txt", "-out", "emu"],
                         cwd=out, capture_output=True, text=True)
    assert run.returncode == 1 and "cannot write emu/" in run.stderr
