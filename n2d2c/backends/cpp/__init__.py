"""The ``cpp`` backend: a C++14/OpenMP project (network, weights, Makefile, testbench).

    from n2d2c.backends.cpp import compile_to_dir
    compile_to_dir(graph, "out/lenet")          # then: make -C out/lenet && ./bin/run_test

Options (``compile_to_dir`` keywords, or ``CompileOptions.extra`` through the CLI):

* ``stimuli`` (3): random test inputs exported to ``stimuli/`` (seeded by ``seed``, 0);
* ``expected`` (True): their outputs computed by the reference simulator, in ``expected/``;
* ``buffer_plan`` ("planner"): how activations share the arena: the memory planner
  ("planner", see ``c/memory.py``), "reuse", "separate" or a ``BufferPlan`` instance;
* ``memory`` (None): the planner's ``MemoryOptions`` (N2D2's export memory options), or a
  dict of them; None takes them from the IR's ``memory {...}`` summary when the
  ``plan-memory`` pass ran, else the defaults.  If the IR carries placements, they must be
  exactly the plan the backend computes (checked);
* ``memory_report`` (False): add to ``memory_mapping.log`` the bytes each optimisation
  saves (re-plans the graph once per optimisation);
* ``fuse`` (True): fold activations and batch norms into the producing kernel;
* ``parallel`` (True): OpenMP pragmas on large loops.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from ...errors import N2D2CError, UnsupportedError, UsageError
from ...ir import Graph, verify
from ...passes.memory import MemoryOptions, format_memory_report, write_memory_reports
from ...util.atomic import atomic_output_dir
from ..c.memory import (REPORT_NOTES, PlannedBuffers, check_graph_placements, has_placements,
                        options_from_attributes, plan_graph, summary_of)
from ..c.program import lower_graph
from ..registry import Backend, CompileOptions, register_backend
from .emitter import CppEmitter

OPTION_DEFAULTS = {"stimuli": 3, "seed": 0, "expected": True, "buffer_plan": None,
                   "memory": None, "memory_report": False, "fuse": True, "parallel": True}


def emit(graph: Graph, out_dir: Path, options: CompileOptions) -> None:
    """Write the project into ``out_dir`` (the caller makes the folder atomic)."""
    opts = dict(OPTION_DEFAULTS)
    unknown = sorted(set(options.extra) - set(opts))
    if unknown:
        raise UsageError(f"unknown option(s) for backend cpp: {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(opts))}")
    opts.update(options.extra)
    verify(graph)
    fuse, parallel = bool(opts["fuse"]), bool(opts["parallel"])
    emitter, memory = _plan(graph, options.name, opts, fuse, parallel)
    files = emitter.render_files()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    memory_info = {"plan": emitter.plan.name, "arena_bytes": emitter.placement.nbytes,
                   "external_bytes": sum(emitter.placement.external.values())}
    if memory is not None:
        summary = (summary_of(graph, memory, fuse=fuse, name=options.name, parallel=parallel)
                   if opts["memory_report"] else None)
        text = format_memory_report(memory.problem, memory.plan, summary,
                                    title=program_title(graph, options.name), notes=REPORT_NOTES)
        write_memory_reports(memory.problem, memory.plan, out_dir, text=text)
        memory_info.update({
            "strategy": memory.plan.strategy, "chosen": memory.plan.chosen,
            "lower_bound": memory.plan.lower_bound, "ratio": round(memory.plan.ratio, 6),
            "alignment": memory.plan.alignment,
            "options": dataclasses.asdict(memory.options),
            "ir_placements": "verified identical" if has_placements(graph) else "none in the IR",
            "saved_bytes": summary["saved_bytes"] if summary else None})
    note = _write_stimuli(graph, out_dir, int(opts["stimuli"]), int(opts["seed"]),
                          bool(opts["expected"]))
    manifest = {
        "name": emitter.program.name,
        "backend": "cpp",
        "graph": graph.name,
        "inputs": [_describe(v, i, "in", len(graph.inputs)) for i, v in enumerate(graph.inputs)],
        "outputs": [_describe(v, i, "out", len(graph.outputs))
                    for i, v in enumerate(graph.outputs)],
        "layers": [layer.name for layer, _ in emitter.code_layers],
        "arena_bytes": emitter.placement.nbytes,
        "buffer_plan": emitter.plan.name,
        "memory": memory_info,
        "activation_layout": "NHWC for 4-D tensors that convolutions or pooling read or write; "
                             "row-major otherwise; inputs/outputs row-major (NCHW)",
        "expected": note,
    }
    (out_dir / "network.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8", newline="\n")


def program_title(graph: Graph, name: str) -> str:
    return f"network '{name}' (graph @{graph.name}, target cpp)"


def _memory_options(spec) -> MemoryOptions | None:
    if spec is None or isinstance(spec, MemoryOptions):
        return spec
    if isinstance(spec, dict):
        return MemoryOptions(**spec)
    raise UsageError(f"option 'memory' of backend cpp takes MemoryOptions or a dict, got {spec!r}")


def _plan(graph: Graph, name: str, opts: dict, fuse: bool, parallel: bool):
    """The emitter with its buffers placed, and the GraphMemory when the planner placed them.

    With the planner (the default) this is ``plan_graph``, the very function the
    ``plan-memory`` pass uses; placements the IR carries must equal its result."""
    spec = opts["buffer_plan"]
    memory_options = _memory_options(opts["memory"])
    if spec is None or spec == "planner" or isinstance(spec, PlannedBuffers):
        if isinstance(spec, PlannedBuffers):
            memory_options = memory_options or spec.options
        if memory_options is None and graph.memory_plan:
            memory_options, _ = options_from_attributes(graph.memory_plan)
        memory = plan_graph(graph, memory_options or MemoryOptions(), fuse=fuse, name=name,
                            parallel=parallel)
        if has_placements(graph):
            check_graph_placements(graph, memory, fuse)
        return memory.emitter, memory
    if memory_options is not None:
        raise UsageError("option 'memory' of backend cpp needs buffer_plan 'planner' "
                         f"(got {spec!r})")
    program = lower_graph(graph, name, fuse=fuse)
    emitter = CppEmitter(program, plan=spec, parallel=parallel)
    return emitter, None


def _describe(value, index: int, kind: str, count: int) -> dict:
    return {"name": value.name, "index": index, "shape": list(value.shape), "dtype": "float32",
            "suffix": ".npy" if count == 1 else f".{kind}{index}.npy"}


def _write_stimuli(graph: Graph, out_dir: Path, count: int, seed: int, expected: bool) -> str:
    if count <= 0:
        return "no stimuli exported"
    rng = np.random.default_rng(seed)
    (out_dir / "stimuli").mkdir()
    samples = []
    for s in range(count):
        feeds = {v.name: rng.standard_normal(v.shape).astype(np.float32) for v in graph.inputs}
        samples.append(feeds)
        for i, v in enumerate(graph.inputs):
            suffix = ".npy" if len(graph.inputs) == 1 else f".in{i}.npy"
            np.save(out_dir / "stimuli" / f"sample_{s:03d}{suffix}", feeds[v.name])
    if not expected:
        return "not requested"
    try:
        from ...runtime import simulate
    except ImportError as exc:
        return f"not generated: the reference simulator is unavailable ({exc})"
    results = []
    try:
        for feeds in samples:
            results.append(simulate(graph, feeds))
    except (UnsupportedError, NotImplementedError) as exc:
        return f"not generated: the reference simulator cannot run this graph ({exc})"
    (out_dir / "expected").mkdir()
    for s, outputs in enumerate(results):
        for j, v in enumerate(graph.outputs):
            suffix = ".npy" if len(graph.outputs) == 1 else f".out{j}.npy"
            np.save(out_dir / "expected" / f"sample_{s:03d}{suffix}",
                    np.asarray(outputs[v.name], dtype=np.float32))
    return "computed by n2d2c.runtime.simulate"


def compile_to_dir(graph: Graph, out_dir: str | os.PathLike, *, name: str = "network",
                   **extra) -> Path:
    """Generate the project into ``out_dir`` atomically (a failure leaves no folder)."""
    out_dir = Path(out_dir)
    options = CompileOptions(output_dir=out_dir, name=name, extra=extra)
    try:
        with atomic_output_dir(out_dir) as scratch:
            emit(graph, scratch, options)
    except N2D2CError:
        raise
    return out_dir


BACKEND = register_backend(Backend(
    name="cpp",
    description="C++14 + OpenMP project: specialised kernels, static arena, Makefile, testbench",
    default_pipeline="remove-dropout,fuse-bn,fuse-padding,simplify-reshape,dead-code",
    emit=emit,
))

__all__ = ["BACKEND", "CppEmitter", "compile_to_dir", "emit"]
