"""Simulator (numba) latency vs onnxruntime with 1 intra-op thread, same run.

The simulator is the bit-exact reference, not a deployment runtime, so the ratio
tells how practical `n2d2c run` is on real inputs, not a goal to beat.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import markdown_table, median_seconds  # noqa: E402

MODELS = {
    "LeNet 28x28": ("lenet", {}),
    "ResNet-18 64x64": ("resnet18", {"size": 64}),
    "MobileNetV2 1.0 224x224": ("mobilenet_v2", {"size": 224}),
}


def measure(model) -> tuple[float, float, float]:
    import onnxruntime as ort

    from n2d2c.api import random_inputs
    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.runtime import Simulator

    graph = load_onnx(model)
    feeds = random_inputs(graph)
    sim = Simulator(graph)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])
    ours = sim.run(feeds)
    ref = session.run(None, feeds)
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(ours.values(), ref))
    t_sim = median_seconds(lambda: sim.run(feeds), repeat=10)
    t_ort = median_seconds(lambda: session.run(None, feeds), repeat=20)
    return t_sim, t_ort, err


def run() -> str:
    from n2d2c.examples import zoo
    rows = []
    for label, (fn, kwargs) in MODELS.items():
        t_sim, t_ort, err = measure(getattr(zoo, fn)(**kwargs))
        rows.append((label, f"{t_sim * 1e3:.2f}", f"{t_ort * 1e3:.2f}", f"{t_ort / t_sim:.3f}",
                     f"{err:.1e}"))
        print(f"  {label}: sim {t_sim * 1e3:.2f} ms, ort {t_ort * 1e3:.2f} ms", flush=True)
    return ("## Simulator vs onnxruntime (1 thread)\n\n"
            "Median latency per inference, batch 1, float32, same process and run. "
            "Ratio = ORT / simulator (higher is better for n2d2c).\n\n"
            + markdown_table(["model", "n2d2c sim (ms)", "onnxruntime 1T (ms)", "ratio",
                              "max abs diff"], rows))


if __name__ == "__main__":
    print(run())
