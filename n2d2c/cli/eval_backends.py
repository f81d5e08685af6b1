"""Run a data set through generated code for `n2d2c eval`: the C++ project's testbench
(``--backend cpp``) or the stm32 firmware under QEMU (``--backend stm32-qemu``).  Both
return the outputs as the simulator would: [N, ...] per sample."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ToolError

#: Samples per generated firmware: its test vectors live in flash.
FIRMWARE_VECTORS = 200
FIRMWARE_VECTOR_BYTES = 1 << 20
#: The stm32 project is sized like QEMU's MPS2 boards (4 MiB of flash and of RAM).
BOARD_KIB = 4096
QEMU_TIMEOUT = 600


def _stack(results: list[dict], names, batch: int, total: int) -> dict[str, np.ndarray]:
    """{name: [N, ...]} from one {name: [batch, ...]} result per feed."""
    stacked = {}
    for name in names:
        parts = [np.asarray(r[name]) for r in results]
        stacked[name] = np.concatenate([p.reshape((batch, -1) + p.shape[2:])
                                        for p in parts])[:total]
    return stacked


def cpp_outputs(graph, samples, names, progress) -> dict[str, np.ndarray]:
    """Generate the C++ project, build it and run its testbench on every sample."""
    from ..backends.c.testing import build, compiler, run_inputs
    from ..backends.cpp import compile_to_dir
    from ..quantization.evaluation import batched_feeds
    if compiler("c++") is None or shutil.which("make") is None:
        raise ToolError("--backend cpp needs make and a C++ compiler (g++ or $CXX) on PATH")
    feeds, batch, total = batched_feeds(graph, samples)
    chunks = []
    with tempfile.TemporaryDirectory(prefix="n2d2c_eval_") as tmp:
        project = Path(tmp) / "project"
        compile_to_dir(graph, project, stimuli=0, expected=False)
        build(project, opt="-O2", extra="")
        for start in range(0, len(feeds), 256):    # bounded stimuli folders
            part = feeds[start:start + 256]
            chunks += run_inputs(project, part)
            progress(len(part) * batch)
    return _stack(chunks, names, batch, total)


def _firmware_chunks(feeds: list[dict]) -> list[list[dict]]:
    per_vector = max(1, sum(np.asarray(a).nbytes for a in feeds[0].values()))
    size = max(1, min(FIRMWARE_VECTORS, FIRMWARE_VECTOR_BYTES // per_vector))
    return [feeds[i:i + size] for i in range(0, len(feeds), size)]


def parse_firmware_outputs(text: str, manifest: dict, vectors: int) -> list[dict]:
    """{output name: array} per test vector from the testbench's
    ``@out <vector> <output> <byte offset> <hex>`` lines."""
    chunks: dict[tuple[int, int], list[tuple[int, bytes]]] = {}
    for line in text.splitlines():
        if line.startswith("@out "):
            _, vector, output, offset, data = line.split()
            chunks.setdefault((int(vector), int(output)), []).append(
                (int(offset), bytes.fromhex(data)))
    results = []
    for v in range(vectors):
        result = {}
        for j, entry in enumerate(manifest["outputs"]):
            data = b"".join(part for _, part in sorted(chunks.get((v, j), [])))
            dtype = np.dtype(entry["dtype"])
            expected = int(np.prod(entry["shape"])) * dtype.itemsize
            if len(data) != expected:
                raise ToolError(f"the firmware printed {len(data)} of the {expected} bytes of "
                                f"output '{entry['name']}' of vector {v}")
            result[entry["name"]] = np.frombuffer(data, dtype).reshape(entry["shape"])
        results.append(result)
    return results


def stm32_qemu_outputs(graph, samples, names, progress) -> dict[str, np.ndarray]:
    """Generate the stm32 firmware with the samples as its test vectors, build it for
    QEMU's board and run it there (a build per FIRMWARE_VECTORS samples)."""
    from ..backends.c.project import compile_to_dir
    from ..quantization.evaluation import batched_feeds
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if not shutil.which(t)]
    if missing:
        raise ToolError(f"--backend stm32-qemu needs {', '.join(missing)} on PATH")
    feeds, batch, total = batched_feeds(graph, samples)
    outputs = []
    with tempfile.TemporaryDirectory(prefix="n2d2c_eval_") as tmp:
        for index, part in enumerate(_firmware_chunks(feeds)):
            project = Path(tmp) / f"firmware{index}"
            compile_to_dir(graph, project, target="stm32", vectors=part, stimuli=0,
                           flash_kib=BOARD_KIB, ram_kib=BOARD_KIB)
            build = subprocess.run(["make", "-C", str(project), "build/qemu/app.elf"],
                                   capture_output=True, text=True, timeout=900)
            if build.returncode != 0:
                raise ToolError(f"building the firmware failed:\n"
                                f"{(build.stdout + build.stderr)[-4000:]}")
            log = project / "qemu.log"
            with open(log, "w") as sink:    # a file, not a pipe: QEMU's stdio is non-blocking
                run = subprocess.run(["make", "-s", "-C", str(project), "qemu"], stdout=sink,
                                     stderr=subprocess.STDOUT, timeout=QEMU_TIMEOUT)
            text = log.read_text(errors="replace")
            if "outputs match:" not in text:
                raise ToolError(f"the firmware did not finish under QEMU (exit {run.returncode}):"
                                f"\n{text[-3000:]}")
            if "outputs match: FAIL" in text:
                print("n2d2c: warning: the firmware's outputs differ from the simulator's "
                      "(see the FAIL lines of its testbench)", file=sys.stderr)
            manifest = json.loads((project / "network.json").read_text())
            outputs += parse_firmware_outputs(text, manifest, len(part))
            progress(len(part) * batch)
    return _stack(outputs, names, batch, total)
