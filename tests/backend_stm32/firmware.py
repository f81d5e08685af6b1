"""Build an stm32 project for QEMU's board and run it: the outputs its testbench prints.

The firmware's test vectors are the test's own feeds (``vectors=[feeds]``); the
testbench prints every output's bytes as ``@out <vector> <output> <offset> <hex>``
lines and a PASS/FAIL summary through semihosting (templates/stm32/files/main.c.j2).
The tests size the chip like the QEMU MPS2 boards (4 MiB of flash and of RAM), so that
many cases fit one firmware: the size check itself is tested separately.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from n2d2c.backends.c.project import compile_to_dir
from support import require_tool

ARM_TOOLS = ("arm-none-eabi-gcc", "qemu-system-arm")
BOARD_KIB = 4096
QEMU_TIMEOUT = 240


def require_arm() -> None:
    require_tool(*ARM_TOOLS)


def generate(graph, out_dir: Path, mcu: str, feeds: dict, **extra) -> Path:
    options = {"flash_kib": BOARD_KIB, "ram_kib": BOARD_KIB} if mcu != "cortex-m0" else {}
    options.update(extra)
    return compile_to_dir(graph, out_dir, target="stm32", mcu=mcu, vectors=[feeds], stimuli=0,
                          **options)


def build(out_dir: Path, opt: str = "-O1") -> Path:
    """``make build/qemu/app.elf`` with -Werror; returns the ELF."""
    proc = subprocess.run(["make", "-C", str(out_dir), f"OPT={opt}", "EXTRA=-Werror",
                           "build/qemu/app.elf"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    assert "warning:" not in proc.stderr, proc.stderr[-4000:]
    return out_dir / "build" / "qemu" / "app.elf"


def run_qemu(out_dir: Path) -> subprocess.CompletedProcess:
    """``make qemu`` (the command line the project documents), with a timeout; QEMU's
    semihosting console and its own messages together in ``stdout``.

    The console goes to a file, not a pipe: QEMU makes its stdio non-blocking, and
    when a loaded machine drains the pipe too slowly its writes fail with EAGAIN and
    the text is dropped (seen as truncated ``@out`` lines)."""
    log = out_dir / "qemu.log"
    with open(log, "w") as sink:
        proc = subprocess.run(["make", "-s", "-C", str(out_dir), "qemu"], stdout=sink,
                              stderr=subprocess.STDOUT, timeout=QEMU_TIMEOUT)
    proc.stdout = log.read_text(errors="replace")
    return proc


def parse_outputs(stdout: str, out_dir: Path, graph) -> list[np.ndarray]:
    """The first vector's outputs, in ``graph``'s output order, by name: the firmware's
    output j is the manifest's (network.json) output j."""
    chunks: dict[int, list[tuple[int, bytes]]] = {}
    for line in stdout.splitlines():
        if line.startswith("@out "):
            _, vector, output, offset, data = line.split()
            if int(vector) == 0:
                chunks.setdefault(int(output), []).append((int(offset), bytes.fromhex(data)))
    by_name = {}
    for j, entry in enumerate(json.loads((out_dir / "network.json").read_text())["outputs"]):
        data = b"".join(part for _, part in sorted(chunks.get(j, [])))
        by_name[entry["name"]] = np.frombuffer(data, entry["dtype"]).reshape(entry["shape"])
    return [by_name[v.name] for v in graph.outputs]


def build_and_run(graph, out_dir: Path, mcu: str, feeds: dict, **extra):
    """Generate, build, run under QEMU: (project folder, outputs, qemu's stdout)."""
    out = generate(graph, out_dir, mcu, feeds, **extra)
    build(out)
    proc = run_qemu(out)
    assert proc.returncode == 0 and "outputs match: PASS" in proc.stdout, \
        f"exit {proc.returncode}:\n" + "\n".join(
            line for line in proc.stdout.splitlines()
            if not line.startswith("@out"))[-4000:]
    return out, parse_outputs(proc.stdout, out, graph), proc.stdout
