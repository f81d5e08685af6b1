"""Helpers for the memory tests that build and run generated C++: compile with the
planner, build (cached per session, shared by pytest-xdist workers), run with the
arena filled with garbage before every run, compare with onnxruntime."""

from __future__ import annotations

import fcntl
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from n2d2c.backends.c.memory import plan_graph
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.c.testing import build, compiler, run_inputs

# Garbage the arena is filled with before every run: 0xCD bytes (float -4.3e8) and 0xFF
# bytes (float NaN).  A kernel reading memory nobody wrote in this run, or reading an input
# row the plan let another buffer overwrite, then gives wrong outputs.
POISONS = ("0xCD", "0xFF")
OPT = "-O1"


def require_compiler() -> None:
    if compiler() is not None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("needs g++ on PATH; CI=true, so this may not be skipped")
    pytest.skip("needs g++ (or $CXX) on PATH to build the generated code")


def ort_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def random_feeds(graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {v.name: rng.standard_normal(v.shape).astype(np.float32) for v in graph.inputs}


def compile_build(graph, out_dir: Path, **options) -> Path:
    compile_to_dir(graph, out_dir, stimuli=0, **options)
    build(out_dir, opt=OPT)
    return out_dir


def run_poisoned(out_dir: Path, feeds, poison: str | None, threads: int = 2) -> list[np.ndarray]:
    args = ("-poison", poison) if poison else ()
    return list(run_inputs(out_dir, feeds, threads=threads, args=args).values())


def realised(graph, options, **kwargs) -> dict[str, set[str]]:
    """Kind of sharing ("wrap", "inplace") -> templates of the kernels whose output uses it,
    in the plan the backend makes for ``graph``."""
    memory = plan_graph(graph, options, **kwargs)
    producer = {}
    e = memory.emitter
    scratch = {cid: st.name for cid, st in e._scratch}
    for layer, items in e.prepared:
        for call, (template, _) in zip(layer.calls, items):
            for v in call.writes.values():
                producer.setdefault(v.storage.name, template)
            if id(call) in scratch:
                producer.setdefault(scratch[id(call)], template + ":copy")
    out: dict[str, set[str]] = {}
    for s in memory.plan.shared:
        out.setdefault(s.kind, set()).add(producer.get(s.buffer, "?"))
    return out


def shared_build(tmp_path_factory, key: str, jobs: dict[str, tuple], ) -> dict[str, Path]:
    """Compile and build every (graph, options) of ``jobs`` once per session, two builds at a
    time; pytest-xdist workers wait on a lock and reuse the folders."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / f"n2d2c_memory_{key}"
    root.mkdir(parents=True, exist_ok=True)
    done = root / "done.json"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / "failed.txt").exists():
            pytest.fail(f"shared build '{key}' failed in another worker:\n"
                        f"{(root / 'failed.txt').read_text()[-3000:]}")
        if not done.exists():
            try:
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(lambda item: compile_build(item[1][0], root / item[0],
                                                             **item[1][1]), jobs.items()))
            except Exception as exc:
                (root / "failed.txt").write_text(f"{type(exc).__name__}: {exc}")
                raise
            done.write_text(json.dumps(sorted(jobs)))
    return {name: root / name for name in jobs}
