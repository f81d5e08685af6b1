"""int8 against its peer: n2d2c's generated C++ (float and int8) next to onnxruntime
(float, and int8 from its own ``quantize_static``: QDQ, per-channel weights, MinMax),
all on one thread in the same run, with the agreement of each int8 network with its
float model and n2d2c's int8 arena.

Networks: MobileNetV2 1.0 @224 (seeded weights, random calibration: only SQNR is
meaningful), and the two trained fixtures of scripts/train_int8_fixtures.py (a
MobileNetV3-style digits classifier: top-1 agreement; a DBNet-style text detector:
IoU of the thresholded maps)."""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "tests"))

from common import markdown_table, measured_on, median_seconds  # noqa: E402


def _networks():
    """label -> (onnx model path or ModelProto, calibration [N, ...], eval samples, metric)."""
    from fixtures.text_pages import text_pages
    from n2d2c.examples import zoo
    digits = np.load(FIXTURES / "digits_test.npz")
    pages, _ = text_pages(8, seed=2)
    rng = np.random.default_rng(0)
    return {
        "MobileNetV2 1.0 224x224": (zoo.mobilenet_v2(size=224, seed=0),
                                    rng.standard_normal((8, 3, 224, 224)).astype(np.float32),
                                    rng.standard_normal((4, 3, 224, 224)).astype(np.float32),
                                    None),
        "MobileNetV3-style digits (trained)": (FIXTURES / "mnv3_digits.onnx",
                                               np.load(FIXTURES / "digits_calib.npz")["x"],
                                               digits["x"][:120], "top1"),
        "DBNet-style text map (trained)": (FIXTURES / "dbnet_text.onnx", text_pages(16, seed=3)[0],
                                           pages, "iou"),
    }


def _sqnr(ref: np.ndarray, got: np.ndarray) -> float:
    noise = float(np.sum((ref - got) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref ** 2)) / noise)


def _agreement(metric, ref: np.ndarray, got: np.ndarray) -> str:
    sqnr = f"{_sqnr(ref, got):.1f} dB"
    if metric == "top1":
        return f"{(ref.argmax(1) == got.argmax(1)).mean():.3f} / {sqnr}"
    if metric == "iou":
        a, b = ref > 0.5, got > 0.5
        return f"{(a & b).sum() / max(1, (a | b).sum()):.3f} / {sqnr}"
    return sqnr


def _ort_int8(model_path: Path, name: str, calib: np.ndarray, work: Path) -> Path:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter([{name: x[None]} for x in calib])

        def get_next(self):
            return next(self.feeds, None)

    pre, out = work / f"{model_path.stem}.pre.onnx", work / f"{model_path.stem}.int8.onnx"
    with contextlib.chdir(work):  # onnxruntime leaves temporary files in the working folder
        quant_pre_process(str(model_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax)
    return out


def _ort_session(path: Path):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _cpp_latency_ms(graph, out: Path) -> tuple[float, int]:
    from n2d2c.backends.c.project import compile_to_dir
    from n2d2c.backends.c.testing import bench, build
    compile_to_dir(graph, out, stimuli=1, expected=False)
    build(out, opt="-O3 -march=native", extra="", jobs=2)
    probe = bench(out, 3, threads=1)
    runs = max(3, int(2e6 / max(probe, 1.0)))
    us = statistics.median(bench(out, runs, threads=1) for _ in range(3))
    arena = json.loads((out / "network.json").read_text())["memory"]["arena_bytes"]
    return us / 1000, arena


def run() -> str:
    import onnx

    from n2d2c.frontend.onnx import load_onnx
    from n2d2c.quantization import quantize_graph
    from n2d2c.runtime import Simulator

    work = Path(tempfile.mkdtemp(prefix="n2d2c_int8_peer_"))
    rows = []
    for label, (model, calib, samples, metric) in _networks().items():
        path = model if isinstance(model, Path) else work / f"{label.split()[0]}.onnx"
        if not isinstance(model, Path):
            onnx.save(model, path)
        graph = load_onnx(path)
        name = graph.inputs[0].name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qgraph, _ = quantize_graph(graph, {"x": calib}, {"nbbits": 8})
        float_ms, _ = _cpp_latency_ms(graph, work / f"{path.stem}_float")
        int8_ms, arena = _cpp_latency_ms(qgraph, work / f"{path.stem}_int8")
        ort_float, ort_int8 = _ort_session(path), _ort_session(_ort_int8(path, name, calib, work))
        feed = {name: samples[:1]}
        ort_float_ms = 1000 * median_seconds(lambda: ort_float.run(None, feed), repeat=30)
        ort_int8_ms = 1000 * median_seconds(lambda: ort_int8.run(None, feed), repeat=30)
        sim_float, sim_int8 = Simulator(graph), Simulator(qgraph)
        ref = np.concatenate([next(iter(sim_float.run({name: x[None]}).values())) for x in samples])
        ours = np.concatenate([next(iter(sim_int8.run({name: x[None]}).values())) for x in samples])
        theirs = np.concatenate([ort_int8.run(None, {name: x[None]})[0] for x in samples])
        rows.append((label, f"{float_ms:.3f}", f"{int8_ms:.3f}", f"{ort_float_ms:.3f}",
                     f"{ort_int8_ms:.3f}", f"{float_ms / int8_ms:.2f}", f"{ort_int8_ms / int8_ms:.2f}",
                     _agreement(metric, ref, ours), _agreement(metric, ref, theirs),
                     f"{arena:,}"))
        print(f"  {label}: n2d2c float {float_ms:.3f} ms, int8 {int8_ms:.3f} ms; onnxruntime "
              f"float {ort_float_ms:.3f} ms, int8 {ort_int8_ms:.3f} ms", flush=True)
    return ("### int8 against onnxruntime's int8 (1 thread, same run)\n\n" + measured_on() +
            "n2d2c: generated C++ built with `-O3 -march=native`, default quantization options "
            "(`--nbbits 8`). onnxruntime: `quantize_static` QDQ, per-channel int8 weights, "
            "MinMax calibration on the same samples. Agreement with the float model: top-1 "
            "agreement or map IoU where the network is trained, and SQNR of the outputs; "
            "n2d2c's from its bit-exact integer simulator.\n\n"
            + markdown_table(["network", "n2d2c float (ms)", "n2d2c int8 (ms)", "ort float (ms)",
                              "ort int8 (ms)", "n2d2c float / int8", "ort int8 / n2d2c int8",
                              "n2d2c int8 agreement", "ort int8 agreement",
                              "n2d2c int8 arena (B)"], rows))


if __name__ == "__main__":
    print(run())
