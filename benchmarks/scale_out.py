"""Scale-out on Dask: calibration (and evaluation) time on 1, 2 and 4 local worker
processes against one process without Dask, in the same run, and the time the
ImageNet validation set (50,000 images) would take at 8/32/128 workers, projected
from the per-sample cost of MobileNetV2 1.0 @224 measured here.

The timed data set is a MobileNetV2-like network at 32x32 (width 0.5, 10 classes)
on ``N2D2C_BENCH_SAMPLES`` generated inputs (default 2,000); cluster start-up and
each worker's first compilation of the simulator are excluded (a warm-up run on a
few samples), so the figures are the steady state a long calibration sees.  Workers
beyond the machine's cores cannot speed anything up: the table says how many cores
there were.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import machine_description, markdown_table  # noqa: E402

IMAGENET_VALIDATION = 50_000


def _graph(size: int, width: float, classes: int):
    import n2d2c
    from n2d2c.examples import zoo
    from n2d2c.quantization import prepare_graph
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(zoo.mobilenet_v2(size=size, width=width, classes=classes,
                                          seed=0).SerializeToString())
        return prepare_graph(n2d2c.load(path))


def _per_sample_seconds_224() -> float:
    """Calibration cost of one MobileNetV2 1.0 @224 sample in one process."""
    from n2d2c.quantization import calibrate
    from n2d2c.quantization.data import make_feeds
    graph = _graph(224, 1.0, 1000)
    x = np.random.default_rng(1).standard_normal((3, 3, 224, 224)).astype(np.float32)
    calibrate(graph, make_feeds(graph, x[:1]))  # compile the kernels
    start = time.perf_counter()
    calibrate(graph, make_feeds(graph, x))
    return (time.perf_counter() - start) / len(x)


def run() -> str:
    from n2d2c.distributed import DataRef, calibrate_distributed, cluster
    from n2d2c.quantization import calibrate
    from n2d2c.quantization.data import make_feeds
    warnings.simplefilter("ignore")
    samples = int(os.environ.get("N2D2C_BENCH_SAMPLES", "2000"))
    graph = _graph(32, 0.5, 10)
    names = [v.name for v in graph.inputs]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "inputs.npy"
        x = np.random.default_rng(0).standard_normal((samples, 3, 32, 32)).astype(np.float32)
        np.save(data, x)
        calibrate(graph, make_feeds(graph, x[:2]))
        start = time.perf_counter()
        calibrate(graph, make_feeds(graph, x))
        alone = time.perf_counter() - start
        rows.append(["1 process, no Dask", f"{alone:.1f}", f"{alone / samples * 1e3:.2f}", "1.00"])
        for workers in (1, 2, 4):
            with cluster(workers=workers) as client:
                calibrate_distributed(client, graph, DataRef.of(data, names, 4 * workers))
                start = time.perf_counter()
                calibrate_distributed(client, graph, DataRef.of(data, names))
                seconds = time.perf_counter() - start
            rows.append([f"{workers} Dask worker(s)", f"{seconds:.1f}",
                         f"{seconds / samples * 1e3:.2f}", f"{alone / seconds:.2f}"])
            print(rows[-1], flush=True)
    two_worker_efficiency = alone / float(rows[2][1]) / 2  # rows: alone, 1, 2, 4 workers
    per_sample = _per_sample_seconds_224()
    projection = [[w, f"{per_sample * IMAGENET_VALIDATION / w / 60:.1f}",
                   f"{per_sample * IMAGENET_VALIDATION / (w * min(1.0, two_worker_efficiency)) / 60:.1f}"]
                  for w in (8, 32, 128)]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return "\n".join([
        "## Scale-out on Dask: calibration (`benchmarks/scale_out.py`)",
        "",
        f"Machine: {machine_description()}; {os.cpu_count()} cores; load average {load} "
        "at the end of the run.",
        f"MobileNetV2-like @32x32 (width 0.5), {samples} generated inputs, both calibration "
        "sweeps (ranges, then 2048-bin histograms of every activation); warm workers.",
        "",
        markdown_table(["execution", "seconds", "ms / sample", "speed-up vs 1 process"], rows),
        "",
        f"Projection for the ImageNet validation set ({IMAGENET_VALIDATION} images), "
        f"MobileNetV2 1.0 @224 calibration at {per_sample:.2f} s per image in one process "
        f"here; 'measured efficiency' scales by the 2-worker efficiency above "
        f"({two_worker_efficiency:.2f}):",
        "",
        markdown_table(["workers", "minutes (ideal)", "minutes (measured efficiency)"],
                       projection),
        ""])


if __name__ == "__main__":
    print(run())
