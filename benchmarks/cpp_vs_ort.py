"""Latency of the generated C++ (cpp backend) against onnxruntime, measured in the same run.

    python benchmarks/cpp_vs_ort.py                      # all models, 1 and 2 threads
    python benchmarks/cpp_vs_ort.py --models lenet --threads 1
    python benchmarks/cpp_vs_ort.py --tune               # -X tune=1 before measuring
    python benchmarks/cpp_vs_ort.py --opt "-O3 -march=haswell"   # AVX2 code
    python benchmarks/cpp_vs_ort.py --markdown results.md

Models come from n2d2c.examples.zoo with seeded random weights: LeNet-like at 28x28,
ResNet-18 at 64x64 and 224x224 (batch norm, which both sides fold), MobileNetV2 (width 1.0)
at 224x224 and an inception-like net at 64x64.  The C++ is built with OPT="-O3
-march=native" (or --opt), and the instruction set that gives is printed with the CPU
model; the CPU time other processes used during each measurement (/proc/stat less this
benchmark's own) says whether the machine was quiet (thread scaling means little otherwise).  onnxruntime runs with all
graph optimisations and ``intra_op_num_threads`` = the thread count (n2d2c reads
OMP_NUM_THREADS).  The two runtimes alternate for --rounds rounds (so that load from
other processes on a shared machine hits both alike); each number is the median over the
rounds of the median of many runs on the same input, after warm-up; the best (minimum)
latencies are printed too.  The outputs of both are compared before timing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from n2d2c.backends.cpp import compile_to_dir  # noqa: E402
from n2d2c.backends.c.testing import bench, build, run_inputs  # noqa: E402
from n2d2c.examples import zoo  # noqa: E402
from n2d2c.frontend.onnx import load_onnx  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import (QUIET_CORES, OtherLoad, cpu_model, isa_description, load_note,  # noqa: E402
                    per_cpu_section)

MODELS = {
    "lenet": ("LeNet-like 28x28", lambda: zoo.lenet(seed=0)),
    "resnet18": ("ResNet-18 64x64", lambda: zoo.resnet18(size=64, seed=0)),
    "resnet18_224": ("ResNet-18 224x224", lambda: zoo.resnet18(size=224, seed=0)),
    "mobilenet_v2": ("MobileNetV2 1.0 224x224", lambda: zoo.mobilenet_v2(size=224, seed=0)),
    "inception": ("inception-like 64x64", lambda: zoo.inception_like(size=64, seed=0)),
}


# Pause when switching runtimes: onnxruntime's pool threads spin for a while after a run and
# would otherwise compete with the generated code's OpenMP threads for the cores.
SETTLE = 0.3


def ort_session(model, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def time_ort(session, feeds, seconds: float) -> list[float]:
    """Latencies (us) of session.run, repeated for about ``seconds`` after a warm-up."""
    for _ in range(3):
        session.run(None, feeds)
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e6)
    return times


def bench_n2d2c(out: Path, runs: int, threads: int) -> tuple[float, float]:
    """(median, min) latency in us of the generated binary over ``runs`` runs."""
    proc = subprocess.run([str(out / "bin" / "run_test"), "-no-outputs", "-expected", "none",
                           "-bench", str(runs)], cwd=out, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(threads)}, check=True)
    median = float(proc.stdout.split("median ")[1].split(" us")[0])
    best = float(proc.stdout.split("min ")[1].split(" us")[0])
    return median, best


def runs_for(latency_us: float, seconds: float) -> int:
    return max(10, min(20000, int(seconds * 1e6 / max(latency_us, 1.0))))


def machine() -> str:
    cpu = cpu_model()
    gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()
    return f"{cpu}, {os.cpu_count()} logical CPUs, {gxx[0] if gxx else 'g++ ?'}, onnxruntime {ort.__version__}"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="measuring time per model, thread count and runtime")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternations of the two runtimes per measurement")
    parser.add_argument("--opt", default="-O3 -march=native", help="OPT passed to make")
    parser.add_argument("--tune", action="store_true",
                        help="generate with -X tune=1 (per-layer tiles timed on this machine)")
    parser.add_argument("--work", help="folder for the generated projects (default: temporary)")
    parser.add_argument("--markdown", help="also write the results as a markdown table here")
    return parser.parse_args(argv)


def measure(args) -> list[tuple]:
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="n2d2c_bench_"))
    rows = []
    print(f"machine: {machine()}")
    print(f"C++ built with OPT=\"{args.opt}\" ({isa_description(args.opt)}); projects in {work}")
    for key in args.models:
        title, make = MODELS[key]
        model = make()
        graph = load_onnx(model)
        t0 = time.perf_counter()
        out = compile_to_dir(graph, work / key, stimuli=1, expected=False,
                             **({"tune": "1"} if args.tune else {}))
        t1 = time.perf_counter()
        build(out, opt=args.opt, extra="", jobs=2)
        t2 = time.perf_counter()
        x = np.load(out / "stimuli" / "sample_000.npy", allow_pickle=False)
        feeds = {model.graph.input[0].name: x}
        ours = run_inputs(out, feeds)["output"]
        ref = ort_session(model, 1).run(None, feeds)[0]
        err = float(np.max(np.abs(ours - ref)))
        print(f"\n{title}: generated in {t1 - t0:.1f} s, built in {t2 - t1:.1f} s, "
              f"max |n2d2c - ORT| = {err:.2e}")
        for threads in args.threads:
            # Rounds alternate the two runtimes, so that load from other processes on a
            # shared machine hits both alike; the median of the round medians is kept.
            session = ort_session(model, threads)
            probe = bench(out, 10, threads=threads)
            runs = runs_for(probe, args.seconds / args.rounds)
            ours, ours_min, theirs, theirs_min = [], [], [], []
            with OtherLoad() as other:
                for _ in range(args.rounds):
                    time.sleep(SETTLE)
                    median, best = bench_n2d2c(out, runs, threads)
                    ours.append(median)
                    ours_min.append(best)
                    time.sleep(SETTLE)
                    times = time_ort(session, feeds, args.seconds / args.rounds)
                    theirs.append(statistics.median(times))
                    theirs_min.append(min(times))
            ours_us, ort_us = statistics.median(ours), statistics.median(theirs)
            ratio = ort_us / ours_us
            best_ratio = min(theirs_min) / min(ours_min)
            load = load_note(other.cores)
            rows.append((title, threads, ours_us, ort_us, ratio, best_ratio, other.cores))
            print(f"  {threads} thread{'s' if threads > 1 else ' '}: n2d2c {ours_us / 1000:9.3f} ms"
                  f"   ORT {ort_us / 1000:9.3f} ms   ORT/n2d2c {ratio:5.2f}"
                  f"   (best runs: {min(ours_min) / 1000:.3f} vs {min(theirs_min) / 1000:.3f} ms,"
                  f" ratio {best_ratio:.2f}); {load}")
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    rows = measure(args)
    results = Path(__file__).with_name("RESULTS.md")
    text = format_section(rows, args.opt, args.tune,
                          results.read_text() if results.exists() else "")
    print("\n" + text)
    if args.markdown:
        Path(args.markdown).write_text(text)
        print(f"wrote {args.markdown}")
    return 0


INTRO = ("Median latency of one inference, batch 1, float32; ratio > 1 means the generated "
         "code is faster. Both runtimes measured in the same run, alternating "
         "(`benchmarks/cpp_vs_ort.py`); one table per CPU and instruction set, each with its "
         "date: a speed claim holds for the machine it was measured on.")


def format_section(rows, opt: str, tuned: bool = False, results: str = "") -> str:
    header = ("| model | threads | n2d2c (ms) | onnxruntime (ms) | ORT / n2d2c | "
              "ORT / n2d2c, best runs | other processes (cores) |\n"
              "|---|---:|---:|---:|---:|---:|---:|")
    lines = [f"| {t} | {n} | {a / 1000:.3f} | {b / 1000:.3f} | {r:.2f} | {q:.2f} | "
             f"{'?' if o is None else f'{o:.2f}'} |" for t, n, a, b, r, q, o in rows]
    busy = any(o is None or o > QUIET_CORES for *_, o in rows)
    heading = (f"{machine().split(', ')[0]}, {isa_description(opt)} — "
               f"{datetime.date.today().isoformat()}")
    table = (f"{machine()}; C++ built with `OPT=\"{opt}\"`"
             + (", generated with `-X tune=1`" if tuned else "") + ".\n"
             + (f"Other processes used more than {QUIET_CORES} cores (CPU time from /proc/stat "
                "less this benchmark's own) during some rows: those rows, above all the "
                "2-thread ones, understate both sides.\n"
                if busy else f"The machine was quiet: other processes used at most "
                f"{QUIET_CORES} cores during every row.\n")
             + "\n" + header + "\n" + "\n".join(lines) + "\n")
    return per_cpu_section(results, "Generated C++ vs onnxruntime", INTRO, heading, table)


def run() -> str:
    """Entry point for benchmarks/run_all.py: all models, 1 and 2 threads, tuned; the tables
    of other CPUs already in RESULTS.md are kept."""
    results = Path(__file__).with_name("RESULTS.md")
    existing = results.read_text() if results.exists() else ""
    return format_section(measure(parse_args(["--tune"])), "-O3 -march=native", True, existing)


if __name__ == "__main__":
    sys.exit(main())
