"""``-X tune=1``: time a few kernel choices per layer on this machine and keep the fastest.

For each candidate (a register tiling of ``conv2d_direct`` for the machine's vector width,
``tuning.CANDIDATES``, with Winograd off; then each Winograd variant, ``winograd.py``, on the
layers it applies to) the whole network is generated with that one choice for every layer,
built as its Makefile's fast build (``OPT="-O3 -march=native"``) and run by the testbench with
``-prof-runs N``, which prints each layer's median time over N runs.  Each layer then takes
the candidate that was fastest for it (ties: the earlier candidate, the default first), and
the choices become the tune file (``tuning.py``) the final project is generated with and
keeps as ``tune.json``.  Timing whole networks rather than layers alone keeps every layer in
its real cache context (the weights of earlier layers evict its own).

Tuning takes one build per candidate (seconds each) and is opt-in; its result depends on
the machine and its load, the code generated from a given tune file does not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import ToolError, UsageError
from ...ir import Graph
from ..c.testing import build, compiler, run
from .tuning import CANDIDATES, TUNE_FILE, TUNE_FORMAT, Tuning
from .winograd import VARIANTS

TUNE_OPT = "-O3 -march=native"
PROF_RUNS = 15
_LAYER_TIME = re.compile(r"^\s+layer (\S+) ([0-9.]+) us$", re.M)


def machine_vlen(cxx: str, opt: str = TUNE_OPT) -> int:
    """Vector width in floats the generated kernels get from ``cxx opt`` on this machine."""
    proc = subprocess.run([cxx, *opt.split(), "-dM", "-E", "-x", "c++", "-"], input="",
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError(f"'{cxx} {opt}' cannot preprocess: {proc.stderr.strip()[-400:]}")
    macros = proc.stdout
    return 16 if "__AVX512F__" in macros else 8 if "__AVX__" in macros else 4


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def layer_times(out_dir: Path, runs: int) -> dict[str, float]:
    """Per-layer median microseconds of a built project (testbench ``-prof-runs``)."""
    proc = run(out_dir, ["-no-outputs", "-expected", "none", "-prof-runs", str(runs)], threads=1)
    return {name: float(us) for name, us in _LAYER_TIME.findall(proc.stdout)}


def autotune(graph: Graph, name: str, options: dict, *, runs: int = PROF_RUNS) -> dict:
    """The tune file (as a dict) for ``graph`` on this machine; ``options`` are the resolved
    backend options of the final generation (tune, tiling and winograd are replaced per
    candidate)."""
    from . import compile_to_dir   # (the package imports this module's caller)
    cxx = compiler("c++")
    if cxx is None:
        raise UsageError("-X tune=1 builds and times the network on this machine, and no C++ "
                         "compiler was found (set CXX or install g++)")
    vlen = machine_vlen(cxx)
    scratch = Path(tempfile.mkdtemp(prefix="n2d2c_tune_"))
    base = {k: v for k, v in options.items() if k not in ("tune", "tiling", "winograd")}
    base.update(stimuli=1, expected=False)
    # Candidates: each tile with Winograd off, then each Winograd variant (its layers) with
    # the default tile elsewhere; every build's tune.json says what each layer ran.
    tiles = CANDIDATES[vlen]
    builds = [(f"tile_{pw}x{nv}", {"tiling": f"{pw}x{nv}", "winograd": "off"})
              for pw, nv in tiles]
    builds += [(variant, {"tiling": f"{tiles[0][0]}x{tiles[0][1]}", "winograd": variant})
               for variant in VARIANTS]
    timings: list[tuple[dict[str, dict], dict[str, float]]] = []
    try:
        for label, extra in builds:
            out = scratch / label
            compile_to_dir(graph, out, name=name, **{**base, **extra})
            build(out, opt=TUNE_OPT, extra="", jobs=2)
            choices = Tuning.load(out / TUNE_FILE).layers
            times = layer_times(out, runs)
            timings.append((choices, times))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    layers = {}
    for layer in sorted(timings[0][0]):
        # The fastest measured choice; ties go to the earlier build (the default tile first).
        measured = [t for t in timings if layer in t[0] and layer in t[1]]
        if not measured:
            continue
        choice, times = min(measured, key=lambda t: t[1][layer])
        layers[layer] = {**choice[layer], "us": round(times[layer], 2)}
    return {"format": TUNE_FORMAT, "vlen": vlen, "machine": cpu_model(), "layers": layers}


__all__ = ["autotune", "cpu_model", "layer_times", "machine_vlen"]
