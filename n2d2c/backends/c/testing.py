"""Build and run a generated C-family project from Python (tests, benchmarks).

Every C-family target's project has the same shape: a Makefile that takes
``OPT`` and ``EXTRA``, and a testbench ``bin/run_test`` with the same options
(``-stimuli``, ``-outputs``, ``-expected``, ``-bench``, ``-poison``, ...).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ...errors import ToolError


# Make's variable for each language's compiler, and its default in the generated Makefiles.
_COMPILER_VARIABLE = {"c++": ("CXX", "g++"), "c": ("CC", "cc")}


def compiler(language: str = "c++") -> str | None:
    """Path of the compiler a generated Makefile will use for ``language`` (``$CXX`` or
    g++ for C++, ``$CC`` or cc for C), None if missing."""
    variable, default = _COMPILER_VARIABLE[language]
    return shutil.which(os.environ.get(variable, default))


def build(out_dir: str | os.PathLike, *, opt: str = "-O2", extra: str = "-Werror",
          jobs: int = 1, timeout: float = 900) -> Path:
    """Run ``make`` in ``out_dir``; returns the binary. Raises ToolError with the log on failure."""
    out_dir = Path(out_dir)
    cmd = ["make", "-C", str(out_dir), f"-j{jobs}", f"OPT={opt}", f"EXTRA={extra}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise ToolError(f"building {out_dir} failed:\n{(proc.stdout + proc.stderr)[-6000:]}")
    warnings = [line for line in proc.stderr.splitlines() if "warning:" in line]
    if warnings:
        raise ToolError(f"building {out_dir} printed warnings:\n" + "\n".join(warnings[:20]))
    return out_dir / "bin" / "run_test"


def run(out_dir: str | os.PathLike, args: Sequence[str] = (), *, threads: int | None = None,
        timeout: float = 600, check: bool = True,
        preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    """Run the built testbench; ``preexec_fn`` runs in the child first (e.g. to set a
    memory limit with ``resource.setrlimit``)."""
    out_dir = Path(out_dir)
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run([str(out_dir / "bin" / "run_test"), *args], cwd=out_dir, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=preexec_fn)
    if check and proc.returncode != 0:
        raise ToolError(f"{out_dir}/bin/run_test {' '.join(args)} exited with "
                        f"{proc.returncode}:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc


def manifest(out_dir: str | os.PathLike) -> dict:
    return json.loads((Path(out_dir) / "network.json").read_text())


def run_inputs(out_dir: str | os.PathLike, inputs, *, threads: int | None = None,
               args: Sequence[str] = ()):
    """Run the built binary on ``inputs`` (a {name: array} dict, or a list of them).

    Returns {output name: array} (or a list of them, one per input dict).  ``args`` are
    extra testbench options, e.g. ``("-poison", "0xCD")``.
    """
    out_dir = Path(out_dir)
    info = manifest(out_dir)
    single = isinstance(inputs, Mapping)
    samples = [inputs] if single else list(inputs)
    with tempfile.TemporaryDirectory(prefix="n2d2c_run_") as tmp:
        tmp = Path(tmp)
        (tmp / "stimuli").mkdir()
        for s, feeds in enumerate(samples):
            for entry in info["inputs"]:
                array = np.asarray(feeds[entry["name"]], dtype=entry.get("dtype", "float32"))
                if list(array.shape) != entry["shape"]:
                    raise ValueError(f"input {entry['name']} has shape {list(array.shape)}, "
                                     f"expected {entry['shape']}")
                np.save(tmp / "stimuli" / f"s{s:04d}{entry['suffix']}", array)
        run(out_dir, ["-stimuli", str(tmp / "stimuli"), "-outputs", str(tmp / "outputs"),
                      "-expected", str(tmp / "none"), *args], threads=threads)
        results = []
        for s in range(len(samples)):
            outputs = tmp / "outputs"
            results.append({entry["name"]: np.load(outputs / f"s{s:04d}{entry['suffix']}",
                                                   allow_pickle=False)
                            for entry in info["outputs"]})
    return results[0] if single else results


def build_and_run(out_dir: str | os.PathLike, inputs, *, opt: str = "-O2", extra: str = "-Werror",
                  threads: int | None = None):
    """``make`` the project in ``out_dir`` and run it on ``inputs`` (see ``run_inputs``)."""
    build(out_dir, opt=opt, extra=extra)
    return run_inputs(out_dir, inputs, threads=threads)


_LATENCY = re.compile(r"median ([0-9.]+) us")


def bench(out_dir: str | os.PathLike, runs: int, *, threads: int | None = None) -> float:
    """Median latency in microseconds over ``runs`` runs on the first exported stimulus."""
    proc = run(out_dir, ["-no-outputs", "-expected", "none", "-bench", str(runs)],
               threads=threads)
    match = _LATENCY.search(proc.stdout)
    if not match:
        raise ToolError(f"no latency in the output of {out_dir}:\n{proc.stdout[-2000:]}")
    return float(match.group(1))
