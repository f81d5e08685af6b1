"""Simulator latency vs onnxruntime, 1 thread each side, same run: the float32 fast
path (the default), the float64-accumulating reference (``precision="reference"``),
and with ``--int8`` the integer simulation against the generated int8 C++.

The simulator is the bit-exact reference, not a deployment runtime, so the ratio
tells how practical `n2d2c run` / `n2d2c eval` are on whole data sets (issue 22
asks for >= 0.2x onnxruntime in float and >= 0.2x the int8 C++ in integer).
BLAS runs on 1 thread through threadpoolctl, numba's parallel kernels on 1 thread.
Timings are medians; the load average before and after is printed with them.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_description, markdown_table, median_seconds  # noqa: E402

MODELS = {
    "LeNet 28x28": ("lenet", {}),
    "ResNet-18 64x64": ("resnet18", {"size": 64}),
    "MobileNetV2 1.0 224x224": ("mobilenet_v2", {"size": 224}),
}
INT8_MODELS = ("ResNet-18 64x64", "MobileNetV2 1.0 224x224")


def one_thread():
    """A context that keeps BLAS and numba on one thread (where threadpoolctl exists)."""
    import contextlib

    import numba
    numba.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("  threadpoolctl missing: BLAS runs on its default thread count", flush=True)
        return contextlib.nullcontext()
    return threadpool_limits(1)


def measure(model) -> dict[str, float]:
    import onnxruntime as ort

    from n2d2c.api import random_inputs
    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.runtime import Simulator

    graph = load_onnx(model)
    feeds = random_inputs(graph)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts,
                                   providers=["CPUExecutionProvider"])
    ref = session.run(None, feeds)
    result = {"ort": median_seconds(lambda: session.run(None, feeds), repeat=20)}
    for precision in ("fast", "reference"):
        sim = Simulator(graph, precision=precision)
        ours = sim.run(feeds)
        result[f"err_{precision}"] = max(float(np.max(np.abs(a - b)))
                                         for a, b in zip(ours.values(), ref))
        result[precision] = median_seconds(lambda: sim.run(feeds), repeat=10)
    return result


def float_table() -> str:
    from n2d2c.examples import zoo
    rows = []
    for label, (fn, kwargs) in MODELS.items():
        r = measure(getattr(zoo, fn)(**kwargs))
        rows.append((label, f"{r['fast'] * 1e3:.2f}", f"{r['reference'] * 1e3:.2f}",
                     f"{r['ort'] * 1e3:.2f}", f"{r['ort'] / r['fast']:.3f}",
                     f"{r['ort'] / r['reference']:.3f}",
                     f"{r['err_fast']:.1e} / {r['err_reference']:.1e}"))
        print(f"  {label}: fast {r['fast'] * 1e3:.2f} ms, reference {r['reference'] * 1e3:.2f}"
              f" ms, ort {r['ort'] * 1e3:.2f} ms", flush=True)
    return ("## Simulator vs onnxruntime (1 thread)\n\n"
            "Median latency per inference, batch 1, float32, same process and run. "
            "Ratio = ORT / simulator (higher is better for n2d2c).\n\n"
            + markdown_table(["model", "sim fast (ms)", "sim reference (ms)",
                              "onnxruntime 1T (ms)", "ratio fast", "ratio reference",
                              "max abs diff fast / reference"], rows))


def int8_table() -> str:
    """Integer simulation (both precisions, bit-identical) vs the generated int8 C++."""
    import statistics
    import tempfile

    from n2d2c.api import random_inputs
    from n2d2c.backends.c.testing import bench, build
    from n2d2c.backends.cpp import compile_to_dir
    from n2d2c.examples import zoo
    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.quantization import quantize_graph
    from n2d2c.runtime import Simulator

    work = Path(tempfile.mkdtemp(prefix="n2d2c_simbench_"))
    rows = []
    for label in INT8_MODELS:
        fn, kwargs = MODELS[label]
        graph = load_onnx(getattr(zoo, fn)(**kwargs))
        shape = graph.inputs[0].shape
        calib = np.random.default_rng(0).standard_normal((8, *shape[1:])).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qgraph, _ = quantize_graph(graph, calib, {"nbbits": 8})
        feeds = random_inputs(qgraph)
        times = {}
        outs = {}
        for precision in ("fast", "reference"):
            sim = Simulator(qgraph, precision=precision)
            outs[precision] = sim.run(feeds)
            times[precision] = median_seconds(lambda: sim.run(feeds), repeat=5)
        exact = all(np.array_equal(outs["fast"][k], outs["reference"][k]) for k in outs["fast"])
        out = compile_to_dir(qgraph, work / label.split()[0], stimuli=1, expected=False)
        build(out, opt="-O3 -march=native", extra="", jobs=2)
        cpp = statistics.median(bench(out, 20, threads=1) for _ in range(3)) / 1e6
        rows.append((label, f"{times['fast'] * 1e3:.2f}", f"{times['reference'] * 1e3:.2f}",
                     f"{cpp * 1e3:.3f}", f"{cpp / times['fast']:.3f}",
                     "yes" if exact else "NO"))
        print(f"  {label} int8: fast {times['fast'] * 1e3:.2f} ms, reference "
              f"{times['reference'] * 1e3:.2f} ms, C++ {cpp * 1e3:.3f} ms", flush=True)
    return ("## Integer simulation vs the generated int8 C++ (1 thread)\n\n"
            "Ratio = C++ / simulator fast path; both precisions give identical integers.\n\n"
            + markdown_table(["model", "sim fast (ms)", "sim reference (ms)", "int8 C++ (ms)",
                              "ratio fast", "fast == reference"], rows))


def run(int8: bool = False) -> str:
    print(f"CPU: {machine_description()}", flush=True)
    before = os.getloadavg()
    with one_thread():
        text = float_table()
        if int8:
            text += "\n" + int8_table()
    after = os.getloadavg()
    return (f"CPU: {machine_description()}\n\nLoad average (1, 5, 15 min) before "
            f"{before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, after {after[0]:.2f} "
            f"{after[1]:.2f} {after[2]:.2f} (a 2-core machine is quiet below ~0.5)\n\n" + text)


if __name__ == "__main__":
    print(run(int8="--int8" in sys.argv[1:]))
