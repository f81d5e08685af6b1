"""Quantized networks: int8 vs float latency of the generated C++, the accuracy of
the digits CNN (trained by scripts/train_digits.py) in float and in int8 per
rescaling and clipping mode, and int8 against onnxruntime's int8 (int8_peer.py),
all measured in one run."""

from __future__ import annotations

import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import markdown_table, measured_on  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
RESCALING = ["Floating-point", "Fixed-point16", "Fixed-point32", "Single-shift", "Double-shift"]
CLIPPING = ["None", "MSE", "KL-Divergence", "Quantile"]


def latency_table() -> str:
    from n2d2c.backends.cpp import compile_to_dir
    from n2d2c.backends.c.testing import bench, build
    from n2d2c.examples import zoo
    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.quantization import quantize_graph

    models = {"LeNet 28x28": zoo.lenet(), "ResNet-18 64x64": zoo.resnet18(size=64),
              "MobileNetV2 1.0 224x224": zoo.mobilenet_v2(size=224)}
    rows = []
    work = Path(tempfile.mkdtemp(prefix="n2d2c_qbench_"))
    for label, model in models.items():
        graph = load_onnx(model)
        shape = graph.inputs[0].shape
        calib = np.random.default_rng(0).standard_normal((8, *shape[1:])).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qgraph, _ = quantize_graph(graph, calib, {"nbbits": 8})
        times = {}
        for kind, g in (("float", graph), ("int8", qgraph)):
            out = compile_to_dir(g, work / f"{label.split()[0]}_{kind}", stimuli=1, expected=False)
            build(out, opt="-O3 -march=native", extra="", jobs=2)
            probe = bench(out, 3, threads=1)
            runs = max(3, int(2e6 / max(probe, 1.0)))
            times[kind] = statistics.median(bench(out, runs, threads=1) for _ in range(3))
        rows.append((label, f"{times['float'] / 1000:.3f}", f"{times['int8'] / 1000:.3f}",
                     f"{times['float'] / times['int8']:.2f}"))
        print(f"  {label}: float {times['float'] / 1000:.3f} ms, int8 {times['int8'] / 1000:.3f} ms",
              flush=True)
    return ("### int8 vs float latency of the generated C++ (1 thread)\n\n" + measured_on() +
            "Ratio = float / int8 (above 1: int8 is faster).\n\n"
            + markdown_table(["model", "float (ms)", "int8 (ms)", "float / int8"], rows))


def accuracy_table() -> str:
    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.quantization import evaluate_classifier, quantize_graph

    graph = load_onnx(FIXTURES / "digits_cnn.onnx")
    test = np.load(FIXTURES / "digits_test.npz", allow_pickle=False)
    calib = np.load(FIXTURES / "digits_calib.npz", allow_pickle=False)
    calib_x = calib[calib.files[0]]
    x, y = test["x"], test["y"]
    float_acc = evaluate_classifier(graph, x, y).accuracy
    rows = []
    for rescaling in RESCALING:
        row = [rescaling]
        for clipping in CLIPPING:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                qgraph, _ = quantize_graph(graph, calib_x, {
                    "nbbits": 8, "act-rescaling-mode": rescaling, "act-clipping-mode": clipping})
            row.append(f"{100 * evaluate_classifier(qgraph, x, y).accuracy:.2f}")
        rows.append(row)
    return (f"### Digits CNN accuracy ({len(y)} test images of scikit-learn's load_digits)\n\n"
            f"Float: {100 * float_acc:.2f} %. int8 (bit-exact integer simulation), per "
            "activation rescaling mode (rows) and clipping mode (columns):\n\n"
            + markdown_table(["rescaling \\ clipping", *CLIPPING], rows))


def run() -> str:
    import int8_peer
    return ("## Quantized networks\n\n" + accuracy_table() + "\n" + latency_table() + "\n"
            + int8_peer.run())


if __name__ == "__main__":
    print(run())
