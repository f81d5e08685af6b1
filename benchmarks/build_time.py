"""How long big generated projects take to generate and to build.

ResNet-18 and MobileNetV2 at 224x224 (n2d2c.examples.zoo, seeded weights), for the C++
and the C99 target: seconds of ``n2d2c.api.compile`` (pipeline, planning, files, stimuli
and expected outputs), the sizes of the generated sources, and the wall and CPU seconds of
``make -j2`` (the generated Makefile, default ``-O2``) from a clean tree, ``--repeat`` times.

    python benchmarks/build_time.py                 # both models, both targets, 2 builds
    python benchmarks/build_time.py --models resnet18 --targets cpp --repeat 3
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import machine_description, markdown_table  # noqa: E402

from n2d2c.api import compile as compile_project  # noqa: E402
from n2d2c.examples import zoo  # noqa: E402
from n2d2c.frontend.onnx import load_onnx  # noqa: E402

MODELS = {
    "resnet18": ("ResNet-18 224x224", lambda: zoo.resnet18(size=224, seed=0)),
    "mobilenet_v2": ("MobileNetV2 1.0 224x224", lambda: zoo.mobilenet_v2(size=224, seed=0)),
}
TARGETS = ("cpp", "c")
SOURCES = (".c", ".cpp", ".h", ".hpp")
JOBS = 2


def compiler_version(target: str) -> str:
    tool = "g++" if target == "cpp" else "cc"
    out = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else f"{tool} ?"


def source_sizes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.suffix in SOURCES}


def timed_build(out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``make -jJOBS`` from a clean tree."""
    for folder in ("build", "bin"):
        shutil.rmtree(out / folder, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(["make", "-C", str(out), f"-j{JOBS}"], check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(models, targets, repeat: int, work: Path) -> list[list[str]]:
    rows = []
    for key in models:
        label, make = MODELS[key]
        for target in targets:
            out = work / f"{key}_{target}"
            graph = load_onnx(make())
            t0 = time.perf_counter()
            compile_project(graph, out, backend=target)
            generate = time.perf_counter() - t0
            sizes = source_sizes(out)
            builds = [timed_build(out) for _ in range(repeat)]
            weights = next(v for k, v in sizes.items() if k.startswith("weights.c"))
            line = (f"{label} [{target}]: generated in {generate:.1f} s, sources "
                    f"{sum(sizes.values()) / 1e6:.1f} MB (weights {weights / 1e6:.1f} MB), "
                    "make -j2: " + ", ".join(f"{w:.1f} s wall / {c:.1f} s CPU" for w, c in builds))
            print("  " + line, flush=True)
            rows.append([label, target, f"{generate:.1f}", f"{sum(sizes.values()) / 1e6:.1f}",
                         f"{weights / 1e6:.1f}",
                         " / ".join(f"{w:.1f}" for w, _ in builds),
                         " / ".join(f"{c:.1f}" for _, c in builds)])
            shutil.rmtree(out)
    return rows


def format_section(rows, targets) -> str:
    compilers = "; ".join(sorted({compiler_version(t) for t in targets}))
    return "\n".join([
        "## Build time of big generated projects\n",
        f"Machine: {machine_description()}; {compilers}.\n",
        "Seconds to generate the project (`n2d2c.api.compile`, expected outputs included), "
        "the size of its sources, and `make -j2` (generated Makefile, default `-O2`) from a "
        "clean tree, each build listed.\n",
        markdown_table(["model", "target", "generate (s)", "sources (MB)", "weights file (MB)",
                        "make -j2 wall (s)", "make -j2 CPU (s)"], rows),
    ])


def run(models=tuple(MODELS), targets=TARGETS, repeat: int = 2) -> str:
    work = Path(tempfile.mkdtemp(prefix="n2d2c_build_time_"))
    try:
        return format_section(measure(models, targets, repeat, work), targets)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--repeat", type=int, default=2, help="clean builds of each project")
    args = parser.parse_args(argv)
    print(run(args.models, args.targets, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
