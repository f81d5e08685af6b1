"""examples/firmware_qemu: a Make firmware project using n2d2c.mk and the stm32 backend
builds, runs under QEMU, and rebuilds exactly what the model's changes require."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import onnx

from n2d2c.examples.lenet import lenet
from support import require_tool

from .examples import compiled_files, copy_example, reference_output, run

QEMU_TIMEOUT = 120


def qemu_outputs(folder) -> np.ndarray:
    log = folder / "qemu.log"
    with open(log, "w") as sink:  # a file, not a pipe: QEMU's stdio is non-blocking
        proc = subprocess.run(["make", "-s", "qemu"], cwd=folder, stdout=sink,
                              stderr=subprocess.STDOUT, timeout=QEMU_TIMEOUT)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    bits = {int(i): int(h, 16) for _, i, h in
            (line.split() for line in text.splitlines() if line.startswith("@out "))}
    return np.array([bits[i] for i in range(len(bits))], np.uint32).view(np.float32)


def test_firmware_qemu(tmp_path):
    require_tool("make", "arm-none-eabi-gcc", "qemu-system-arm", "n2d2c")
    fw = copy_example("firmware_qemu", tmp_path)
    first = run(["make"], fw)
    assert {"network.c", "weights.c", "main.c", "startup.c"} <= compiled_files(first)
    np.testing.assert_allclose(qemu_outputs(fw), reference_output(fw / "model.onnx"),
                               rtol=1e-4, atol=1e-6)

    assert "Nothing to be done" in run(["make"], fw)

    elf = fw / "build" / "app.elf"
    built = os.stat(elf).st_mtime_ns
    os.utime(fw / "model.onnx")
    touched = run(["make"], fw)
    assert "n2d2c compile" in touched and not compiled_files(touched)
    assert os.stat(elf).st_mtime_ns == built
    assert "Nothing to be done" in run(["make"], fw)

    onnx.save(lenet(seed=3), fw / "model.onnx")
    changed = run(["make"], fw)
    assert compiled_files(changed) == {"weights.c"} and "ar rcs" in changed
    np.testing.assert_allclose(qemu_outputs(fw), reference_output(fw / "model.onnx"),
                               rtol=1e-4, atol=1e-6)

    # Another n2d2c command line (the chip) regenerates the project too (-n: the
    # commands make would run).
    retargeted = run(["make", "-n", "MCU=stm32f7"], fw)
    assert "n2d2c compile" in retargeted and "-X mcu=stm32f7" in retargeted
