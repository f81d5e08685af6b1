"""DNeuro backend: estimated vs GHDL-measured cycles per frame, DSP utilisation, yosys counts.

    python benchmarks/dneuro.py [--dsps 24] [--frames 3] [--batch 1] [--synth]

For each small network of ``n2d2c.examples.dneuro_nets`` (LeNet-like 16x16, a residual
block, a depthwise-separable block, LeNet 28x28 from the quantizer) the dneuro project
is exported with ``-X nb_dsps=N``, its GHDL testbench streams ``--frames`` frames
back to back without gaps or back-pressure (every output pixel checked against the
integer simulator), and the steady-state cycles per frame are the distance between the
cycles at which two consecutive frames' last pixels leave.  Cycle counts are simulated
clock cycles: deterministic, independent of the machine's load.  With ``--batch B``
(G_BATCH_SIZE) ``--frames`` batches of B frames stream side by side; the cycles are then
per batch.

DSP utilisation = MACs of one frame / cycles per frame / multipliers allocated to MACs
(the rescale multipliers are not counted; N2D2 claims > 90 % for DNeuro).  With
``--synth`` each design also goes through ``ghdl --synth --out=verilog`` and yosys'
``synth_xilinx`` (minutes per network on a shared machine): LUTs, DSP48E1, RAM cells.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import json  # noqa: E402

import n2d2c.backends.dneuro as dneuro  # noqa: E402
from n2d2c.backends.registry import CompileOptions  # noqa: E402
from n2d2c.examples.dneuro_nets import NETWORKS  # noqa: E402

PASS = re.compile(r"DNEURO PASS frame_end_cycles=([0-9,]*)")


def measure(name: str, root: Path, dsps: int, frames: int, synth: bool,
            batch: int = 1) -> dict:
    out = root / name
    out.mkdir(parents=True)
    dneuro.BACKEND.emit(NETWORKS[name](), out, CompileOptions(
        output_dir=out, extra={"nb_dsps": dsps, "frames": frames * batch,
                               "batch_size": batch}))
    info = json.loads((out / "network.json").read_text())
    run = subprocess.run(["make", "-s", "-C", str(out), "sim"], capture_output=True, text=True)
    found = PASS.search(run.stdout + run.stderr)
    if run.returncode or not found:
        raise SystemExit(f"{name}: simulation failed\n{(run.stdout + run.stderr)[-2000:]}")
    ends = [int(v) for v in found.group(1).split(",") if v]
    measured = min(b - a for a, b in zip(ends, ends[1:]))
    est = info["estimate"]
    mac_dsps = est["mac_dsps"]
    row = {"network": name, "estimated": est["cycles_per_frame"], "measured": measured,
           "latency": ends[0], "bottleneck": est["bottleneck"], "dsps": est["dsps"],
           "mac_dsps": mac_dsps, "macs": est["macs"], "batch": est["batch"],
           "utilisation": est["dsp_utilisation"] * est["cycles_per_frame"] / measured}
    if synth:
        subprocess.run(["make", "-s", "-C", str(out), "synth", "YOSYS_SYNTH=synth_xilinx"],
                       check=True, capture_output=True)
        stat = (out / "build" / "synth_xilinx.stat").read_text().split(
            "=== design hierarchy ===")[-1]
        counts = {c: int(n) for c, n in re.findall(r"^\s+(\w+)\s+(\d+)$", stat, re.M)}
        row.update(luts=sum(n for c, n in counts.items() if c.startswith("LUT")),
                   dsp48=counts.get("DSP48E1", 0),
                   rams=sum(n for c, n in counts.items() if c.startswith(("RAMB", "RAM32",
                                                                          "RAM64"))))
    return row


def section(dsps: int = 24, frames: int = 3, synth: bool = False, batch: int = 1) -> str:
    """The markdown section of benchmarks/RESULTS.md."""
    with tempfile.TemporaryDirectory(prefix="dneuro_bench_") as tmp:
        rows = [measure(name, Path(tmp), dsps, frames, synth, batch) for name in NETWORKS]
    what = f"{frames} frames" if batch == 1 else \
        f"{frames} batches of {batch} frames side by side (cycles per batch)"
    lines = [f"## DNeuro: estimated vs GHDL cycles (NbDSPs = {dsps}, {what} back to back)", ""]
    head = ("| network | estimated cycles/frame | GHDL cycles/frame | ratio | first frame "
            "latency | bottleneck | DSPs (MAC) | MACs/frame | DSP utilisation |")
    if synth:
        head += " LUTs | DSP48E1 | RAM cells |"
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        line = (f"| {r['network']} | {r['estimated']} | {r['measured']} | "
                f"{r['measured'] / r['estimated']:.3f} | {r['latency']} | {r['bottleneck']} | "
                f"{r['dsps']} ({r['mac_dsps']}) | {r['macs']} | {100 * r['utilisation']:.1f} % |")
        if synth:
            line += f" {r['luts']} | {r['dsp48']} | {r['rams']} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def run() -> str:
    """benchmarks/run_all.py's entry (no synthesis: minutes per network)."""
    if shutil.which("ghdl") is None:
        return "## DNeuro: estimated vs GHDL cycles\n\nskipped: ghdl not found\n"
    return section()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsps", type=int, default=24)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, help="G_BATCH_SIZE")
    parser.add_argument("--synth", action="store_true")
    args = parser.parse_args()
    print(section(args.dsps, args.frames, args.synth, args.batch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
