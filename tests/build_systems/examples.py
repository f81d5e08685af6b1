"""What the example-project tests share: copying an example, its model and input, and
what a build's log says was rebuilt."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx

import n2d2c
from n2d2c.examples.lenet import lenet
from support import REPO

EXAMPLES = REPO / "examples"
BUILD_TIMEOUT = 600


def copy_example(name: str, dest: Path, seed: int = 0) -> Path:
    """The example in a fresh folder, with its model written (LeNet, weights of ``seed``)."""
    folder = dest / name
    shutil.copytree(EXAMPLES / name, folder,
                    ignore=shutil.ignore_patterns("build", "model.onnx", "__pycache__"))
    onnx.save(lenet(seed), folder / "model.onnx")
    return folder


def example_input() -> np.ndarray:
    """The input both examples' main programs build: (i % 17) / 17 - 0.5."""
    i = np.arange(784)
    return ((i % 17).astype(np.float32) / np.float32(17) - np.float32(0.5)).reshape(1, 1, 28, 28)


def reference_output(model: Path) -> np.ndarray:
    return n2d2c.run(model, example_input())["output"].ravel()


def run(cmd: list[str], cwd: Path, timeout: int = BUILD_TIMEOUT) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{(proc.stdout + proc.stderr)[-5000:]}"
    return proc.stdout + proc.stderr


def compiled_files(log: str) -> set[str]:
    """The source files a build log shows being compiled (CMake's "Building ... object"
    lines or compiler command lines with -c)."""
    names = set(re.findall(r"Building \w+ object \S*?([\w.]+)\.o", log))
    names |= {Path(m).name for m in re.findall(r" -c (\S+)", log)}
    return names
