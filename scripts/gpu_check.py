#!/usr/bin/env python3
"""The GPU checks of issue 18 as one script, for a machine with a CUDA GPU (written
on a machine without one: never run yet, so expect to fix small things on the first
GPU session).

    python scripts/gpu_check.py                      # everything, prints the results
    python scripts/gpu_check.py --write benchmarks/RESULTS.md --only mobilenet

1. the GPU: nvidia-smi and the cupy simulator's device;
2. pytest tests/runtime_gpu tests/backend_tensorrt with CI=true (nothing may skip
   for a missing package; the cupy tests run instead of skipping);
3. benchmarks/gpu.py: MobileNetV2 / ResNet-18 at 224x224 through --backend tensorrt,
   built with g++ against libnvinfer (pip tensorrt or $TENSORRT_ROOT), outputs vs
   onnxruntime (FP32/FP16) and the integer simulator (INT8), latency at batch 1/8/32
   next to onnxruntime's CUDA / TensorRT providers where installed; the cupy simulator
   vs the CPU one at batch 8;
4. with --write, the section replaces the "## GPU" section of that file.

Expected time: a minute of tests, then about 7 engine builds per network (tens of
seconds each on an H100/H200); --only mobilenet halves it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def step(title: str) -> None:
    print(f"\n=== {title} ({time.strftime('%H:%M:%S')})", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", help="markdown file whose '## GPU' section is replaced")
    parser.add_argument("--only", help="benchmark only the network whose name contains this")
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    failures = 0

    step("GPU")
    if shutil.which("nvidia-smi"):
        subprocess.run(["nvidia-smi"], check=False)
    else:
        print("nvidia-smi not found")
    from n2d2c.errors import UnsupportedError
    from n2d2c.runtime.simulator import _open_device
    try:
        _open_device("gpu")
        print("cupy simulator: device ready")
    except UnsupportedError as exc:  # the TensorRT part may still run
        print(f"cupy simulator unavailable: {exc.message}")
        failures += 1

    if not args.skip_tests:
        step("tests (GPU ones included)")
        env = dict(os.environ, CI="true")
        failures += subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-rs",
                                    "tests/runtime_gpu", "tests/backend_tensorrt"],
                                   cwd=REPO, env=env).returncode != 0

    step("TensorRT benchmark")
    import gpu
    with tempfile.TemporaryDirectory(prefix="n2d2c_gpu_") as work:
        section = gpu.run(Path(work), args.only)
    command = "python scripts/gpu_check.py" + (f" --only {args.only}" if args.only else "")
    section = section.replace("\n\n", f"\n\nCommand: `{command}`, {time.strftime('%Y-%m-%d')}"
                              "\n\n", 1)
    print(section)
    if args.write:
        path = Path(args.write)
        text = path.read_text() if path.exists() else ""
        pattern = re.compile(r"^## GPU.*?(?=^## |\Z)", re.S | re.M)
        text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) \
            else text.rstrip("\n") + "\n\n" + section + "\n"
        path.write_text(text)
        print(f"wrote {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
