"""End-to-end demo: build a LeNet ONNX model, inspect it, simulate it, compare with
onnxruntime, then compile it to C++ and run the generated binary (when g++ exists).

    python examples/demo.py [workdir]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

import n2d2c
from n2d2c.examples.lenet import lenet
from n2d2c.info import format_info


def main() -> int:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="n2d2c-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    model_path = work / "lenet.onnx"
    onnx.save(lenet(seed=0), model_path)
    print(f"== built {model_path}")

    graph = n2d2c.load(model_path)
    print(format_info(graph))

    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28)).astype(np.float32)
    ours = n2d2c.run(graph, x)["output"]
    print("== n2d2c simulator output:", np.array2string(ours.ravel(), precision=5))

    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    ref = ort.InferenceSession(str(model_path), opts).run(None, {"input": x})[0]
    err = float(np.max(np.abs(ours - ref)))
    ok = np.allclose(ours, ref, rtol=1e-4, atol=1e-5)
    print(f"== onnxruntime comparison: max abs error {err:.3g} -> {'MATCH' if ok else 'MISMATCH'}")

    if shutil.which("g++") and shutil.which("make"):
        out = work / "lenet_cpp"
        n2d2c.compile(graph, out, backend="cpp")
        print(f"== generated C++ project in {out}; building and running its testbench")
        subprocess.run(["make", "-s", "-C", str(out)], check=True)
        run = subprocess.run([str(out / "bin" / "run_test")], cwd=out, text=True,
                             capture_output=True)
        print(run.stdout.strip())
        ok = ok and run.returncode == 0
    else:
        print("== g++/make not found: skipping the C++ build")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
