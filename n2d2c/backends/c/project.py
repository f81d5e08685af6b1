"""The project driver every C-family target shares: options, memory plan, files, stimuli.

    from n2d2c.backends.c.project import compile_to_dir
    compile_to_dir(graph, "out/lenet", target="c")   # then: make -C out/lenet && ./bin/run_test

``emit_project`` writes into a folder the caller made (the CLI and
``compile_to_dir`` make it atomic): the target's files, ``network.json`` (the
manifest scripts read), ``memory_mapping.log``/``.png`` when the planner placed
the buffers, and ``stimuli/`` + ``expected/`` (random inputs and the reference
simulator's outputs) for the testbench.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from ...errors import UnsupportedError, UsageError
from ...ir import DType, Graph, verify
from ...passes.memory import MemoryOptions, format_memory_report, write_memory_reports
from ...util.atomic import atomic_output_dir
from ..registry import CompileOptions, get_backend
from .memory import (REPORT_NOTES, PlannedBuffers, check_graph_placements, has_placements,
                     options_from_attributes, plan_graph, summary_of)
from .program import lower_graph
from .target import CTarget, get_target


def emit_project(target: CTarget, graph: Graph, out_dir: Path, options: CompileOptions) -> dict:
    """Write ``target``'s project for ``graph`` into ``out_dir``; returns what the API's
    result reports: the arena, the memory plan and the sizes (``project_facts``)."""
    opts = get_backend(target.name).resolve_options(options.extra)
    if target.prepare_graph is not None:
        graph = target.prepare_graph(graph.copy(), opts)
    verify(graph)
    if target.complete_options is not None:
        opts = target.complete_options(graph, opts, options.name)
    emitter, memory = _plan(target, graph, options.name, opts)
    files = emitter.render_files()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    memory_info = {"plan": emitter.plan.name, "arena_bytes": emitter.placement.nbytes,
                   "external_bytes": sum(emitter.placement.external.values())}
    if memory is not None:
        memory_info.update(_write_memory_reports(target, graph, memory, out_dir, options.name,
                                                 opts))
    note = write_stimuli(graph, out_dir, int(opts["stimuli"]), int(opts["seed"]),
                         bool(opts["expected"]))
    manifest = {
        "name": emitter.program.name,
        "backend": target.name,
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
    return project_facts(emitter, memory_info)


def project_facts(emitter, memory_info: dict) -> dict:
    """Arena bytes, the memory plan's summary and sizes in bytes: the arena, the buffers
    kept out of it and, for a target that checks them (stm32), flash and RAM by part."""
    sizes = {"arena": emitter.placement.nbytes, "external": memory_info["external_bytes"]}
    report = getattr(emitter, "size_report", None)  # set by targets that check the chip
    if report is not None:
        sizes.update({f"flash.{k}": v for k, v in report.flash.items()})
        sizes.update({f"ram.{k}": v for k, v in report.ram.items()})
        sizes.update(flash=report.flash_total, ram=report.ram_total,
                     flash_limit=report.flash_limit, ram_limit=report.ram_limit)
    return {"arena_bytes": emitter.placement.nbytes, "memory": memory_info, "sizes": sizes}


def program_title(graph: Graph, name: str, target: str) -> str:
    return f"network '{name}' (graph @{graph.name}, target {target})"


def _write_memory_reports(target: CTarget, graph: Graph, memory, out_dir: Path, name: str,
                          opts: dict) -> dict:
    summary = (summary_of(graph, memory, target=target, fuse=bool(opts["fuse"]), name=name,
                          **target.emitter_kwargs(opts))
               if opts["memory_report"] else None)
    text = format_memory_report(memory.problem, memory.plan, summary,
                                title=program_title(graph, name, target.name), notes=REPORT_NOTES)
    write_memory_reports(memory.problem, memory.plan, out_dir, text=text)
    return {"strategy": memory.plan.strategy, "chosen": memory.plan.chosen,
            "lower_bound": memory.plan.lower_bound, "ratio": round(memory.plan.ratio, 6),
            "alignment": memory.plan.alignment, "options": dataclasses.asdict(memory.options),
            "ir_placements": "verified identical" if has_placements(graph) else "none in the IR",
            "saved_bytes": summary["saved_bytes"] if summary else None}


def _memory_options(spec, target: str) -> MemoryOptions | None:
    if spec is None or isinstance(spec, MemoryOptions):
        return spec
    if isinstance(spec, dict):
        return MemoryOptions(**spec)
    raise UsageError(f"option 'memory' of backend {target} takes MemoryOptions or a dict, "
                     f"got {spec!r}")


def _plan(target: CTarget, graph: Graph, name: str, opts: dict):
    """The emitter with its buffers placed, and the GraphMemory when the planner placed them.

    With the planner (the default) this is ``plan_graph``, the very function the
    ``plan-memory`` pass uses; placements the IR carries must equal its result."""
    spec = opts["buffer_plan"]
    fuse = bool(opts["fuse"])
    memory_options = _memory_options(opts["memory"], target.name)
    if spec is None or spec == "planner" or isinstance(spec, PlannedBuffers):
        if isinstance(spec, PlannedBuffers):
            memory_options = memory_options or spec.options
        if memory_options is None and graph.memory_plan:
            memory_options, _ = options_from_attributes(graph.memory_plan)
        memory = plan_graph(graph, memory_options or MemoryOptions(), target=target, fuse=fuse,
                            name=name, **target.emitter_kwargs(opts))
        if has_placements(graph):
            check_graph_placements(graph, memory, fuse)
        return memory.emitter, memory
    if memory_options is not None:
        raise UsageError(f"option 'memory' of backend {target.name} needs buffer_plan "
                         f"'planner' (got {spec!r})")
    program = lower_graph(graph, name, fuse=fuse)
    return target.make_emitter(program, plan=spec, options=opts), None


def _describe(value, index: int, kind: str, count: int) -> dict:
    return {"name": value.name, "index": index, "shape": list(value.shape),
            "dtype": value.type.dtype.numpy.name,
            "suffix": ".npy" if count == 1 else f".{kind}{index}.npy"}


def random_input(rng, value) -> np.ndarray:
    """Stimulus of a graph input: standard normal floats (in the input's float type),
    random booleans, zeros for integers (a valid index of any Gather)."""
    dtype = value.type.dtype
    if dtype.is_float:
        return rng.standard_normal(value.shape).astype(dtype.numpy)
    if dtype is DType.BOOL:
        return rng.integers(0, 2, value.shape).astype(bool)
    return np.zeros(value.shape, dtype.numpy)


def write_stimuli(graph: Graph, out_dir: Path, count: int, seed: int, expected: bool) -> str:
    """Random inputs in ``stimuli/`` and, if asked, the simulator's outputs in
    ``expected/``, each .npy of its tensor's element type (``random_input``); returns what
    the manifest says about the expected outputs."""
    if count <= 0:
        return "no stimuli exported"
    rng = np.random.default_rng(seed)
    (out_dir / "stimuli").mkdir()
    samples = []
    for s in range(count):
        feeds = {v.name: random_input(rng, v) for v in graph.inputs}
        samples.append(feeds)
        for i, v in enumerate(graph.inputs):
            suffix = ".npy" if len(graph.inputs) == 1 else f".in{i}.npy"
            np.save(out_dir / "stimuli" / f"sample_{s:03d}{suffix}", feeds[v.name])
    if not expected:
        return "not requested"
    from ...runtime import simulate
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
                    np.asarray(outputs[v.name], dtype=v.type.dtype.numpy))
    return "computed by n2d2c.runtime.simulate"


def compile_to_dir(graph: Graph, out_dir: str | os.PathLike, *, target: "str | CTarget" = "cpp",
                   name: str = "network", **extra) -> Path:
    """Generate ``target``'s project into ``out_dir`` atomically (a failure leaves no
    folder); ``extra`` are the backend's options (``n2d2c backends`` lists them)."""
    target = get_target(target)
    out_dir = Path(out_dir)
    options = CompileOptions(output_dir=out_dir, name=name, extra=extra)
    with atomic_output_dir(out_dir) as scratch:
        emit_project(target, graph, scratch, options)
    return out_dir


__all__ = ["compile_to_dir", "emit_project", "program_title", "write_stimuli"]
