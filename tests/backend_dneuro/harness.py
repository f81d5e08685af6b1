"""Export a quantized graph with the dneuro backend, run its GHDL testbench and its
emulator, and read what they produced."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np

import n2d2c.backends.dneuro as _registers_dneuro
from n2d2c.backends.registry import CompileOptions
from support import require_tool

DNEURO = _registers_dneuro.BACKEND
PASS = re.compile(r"DNEURO PASS frame_end_cycles=([0-9,]*)")


def export(graph, out: Path, **options) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    DNEURO.emit(graph, out, CompileOptions(output_dir=out, extra=options))
    return out


def manifest(out: Path) -> dict:
    return json.loads((out / "network.json").read_text())


def simulate_rtl(out: Path, gap: int = 0, stall: int = 0, seed: int = 1) -> list[int]:
    """``make sim`` with random input gaps and back-pressure; the cycle at which each frame's
    last output pixel left (the testbench has compared every pixel)."""
    require_tool("ghdl")
    flags = f"-gG_GAP_PERCENT={gap} -gG_STALL_PERCENT={stall} -gG_SEED={seed}"
    run = subprocess.run(["make", "-s", "-C", str(out), "sim", f"SIMFLAGS={flags}"],
                         capture_output=True, text=True, timeout=600)
    text = run.stdout + run.stderr
    found = PASS.search(text)
    assert run.returncode == 0 and found, text[-3000:]
    return [int(v) for v in found.group(1).split(",") if v]


def read_pixels(path: Path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64, ndmin=2)


def run_emulator(out: Path) -> dict[str, np.ndarray]:
    """``make emulator`` then ``./dneuro_emulator -stimulus ...``: each layer's output, every
    frame's pixels one after the other."""
    require_tool("g++", "make")
    subprocess.run(["make", "-s", "-C", str(out), "emulator"], check=True, capture_output=True)
    info = manifest(out)
    emu = out / "emu"
    emu.mkdir(exist_ok=True)
    subprocess.run(["./dneuro_emulator", "-stimulus", "stimuli/input.txt", "-frames",
                    str(info["frames"]), "-out", "emu"], cwd=out, check=True)
    results = {}
    for layer in info["layers"]:
        stem = layer["file"][:-len(".txt")]
        names = [f"{stem}.txt"] if info["frames"] == 1 else \
            [f"{stem}_{k}.txt" for k in range(info["frames"])]
        results[layer["name"]] = np.concatenate([read_pixels(emu / n) for n in names])
    return results


def check_all(out: Path, gap: int = 30, stall: int = 30, seed: int = 1) -> list[int]:
    """GHDL (without, then with random gaps/back-pressure unless both are 0) == C++
    emulator == the integer simulator (expected/), bit for bit, for every layer the
    emulator writes."""
    cycles = simulate_rtl(out)
    rtl = read_pixels(out / "out_file" / "out.txt")
    expected = read_pixels(out / "expected" / "output.txt")
    np.testing.assert_array_equal(rtl, expected)
    if gap or stall:
        simulate_rtl(out, gap=gap, stall=stall, seed=seed)
        np.testing.assert_array_equal(read_pixels(out / "out_file" / "out.txt"), expected)
    emulated = run_emulator(out)
    for layer in manifest(out)["layers"]:
        np.testing.assert_array_equal(emulated[layer["name"]],
                                      read_pixels(out / "expected" / layer["file"]),
                                      err_msg=f"emulator, layer {layer['name']}")
    np.testing.assert_array_equal(emulated[manifest(out)["layers"][-1]["name"]], rtl)
    return cycles
