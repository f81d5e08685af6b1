"""Human-readable outputs: ``memory_mapping.log``, the PNG and a summary dict."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from .options import MemoryOptions
from .planner import plan_memory
from .problem import MemoryPlan, MemoryProblem

LOG_NAME = "memory_mapping.log"
PNG_NAME = "memory_mapping.png"


def format_mapping_log(problem: MemoryProblem, plan: MemoryPlan) -> str:
    """One line per buffer (by offset), then arena, lower bound and ratio."""
    buffers = problem.by_name()
    notes: dict[str, str] = {}
    for s in plan.shared:  # a buffer may be both in place and in a concat slice
        amount = {"concat": f" +{s.amount}", "wrap": f" -{s.amount}"}.get(s.kind, "")
        notes[s.buffer] = "; ".join(filter(None, [notes.get(s.buffer), f"{s.kind} {s.target}"
                                                  + amount]))
    rows = sorted(plan.offsets.items(), key=lambda kv: (kv[1], buffers[kv[0]].start, kv[0]))
    width = max([len(name) for name in buffers] + [4])
    lines = [f"# memory mapping: strategy {plan.strategy} (offsets from {plan.chosen}), "
             f"alignment {plan.alignment}",
             f"{'name':<{width}} {'offset':>10} {'size':>10} {'end':>10}  lifetime  sharing"]
    for name, offset in rows:
        b = buffers[name]
        lines.append(f"{name:<{width}} {offset:>10} {b.size:>10} {offset + b.size:>10}  "
                     f"[{b.start}, {b.end}]  {notes.get(name, '')}".rstrip())
    for name in plan.external:
        b = buffers[name]
        lines.append(f"{name:<{width}} {'external':>10} {b.size:>10} {'':>10}  "
                     f"[{b.start}, {b.end}]")
    lines += [f"arena_size: {plan.arena_size}",
              f"lower_bound: {plan.lower_bound}",
              f"ratio: {plan.ratio:.4f}" + ("  (optimal)" if plan.optimal else "")]
    if plan.solver_status:
        lines.append(f"solver_status: {plan.solver_status}")
    return "\n".join(lines) + "\n"


def memory_summary(problem: MemoryProblem, plan: MemoryPlan,
                   options: MemoryOptions | None = None, *,
                   rebuild: Callable[[MemoryOptions], tuple[MemoryProblem, MemoryPlan]]
                   | None = None) -> dict:
    """Arena, bound, ratio and the bytes each optimisation saves.

    A saving is measured by re-planning with that option switched off (same
    strategy); it is 0 for an option already off, and may be negative when a
    heuristic happens to do better without it.  ``reuse`` compares with
    strategy ``None``; ``IncludeInputInBuffer`` counts the external input
    bytes, since those then need memory of their own.  ``rebuild(options)``,
    when given, makes the problem *and* plan of each variant (for callers whose
    buffers themselves depend on an option, e.g. in-place concatenation).
    """
    options = options or plan.options or MemoryOptions()

    def total(opts: MemoryOptions) -> int:
        if rebuild is not None:
            other_problem, other = rebuild(opts)
        else:
            other_problem, other = problem, plan_memory(problem, opts)
        return other.arena_size + _external_bytes(other_problem, other)

    here = plan.arena_size + _external_bytes(problem, plan)
    saved = {"reuse": total(dataclasses.replace(options, MemoryManagerStrategy="None")) - here
             if options.MemoryManagerStrategy != "None" else 0}
    for flag in ("OptimizeBufferMemory", "OptimizeNoBranchConcat", "IncludeInputInBuffer"):
        saved[flag] = (total(dataclasses.replace(options, **{flag: False})) - here
                       if getattr(options, flag) else 0)
    return {"arena_bytes": plan.arena_size, "lower_bound": plan.lower_bound,
            "ratio": plan.ratio, "optimal": plan.optimal, "strategy": plan.strategy,
            "chosen": plan.chosen, "external_bytes": _external_bytes(problem, plan),
            "saved_bytes": saved}


def _external_bytes(problem: MemoryProblem, plan: MemoryPlan) -> int:
    sizes = problem.by_name()
    return sum(sizes[name].size for name in plan.external)


SAVING_LABELS = {
    "reuse": "reuse of dead buffers (vs strategy None)",
    "OptimizeBufferMemory": "OptimizeBufferMemory (in-place element-wise, wrapping)",
    "OptimizeNoBranchConcat": "OptimizeNoBranchConcat (concat inputs written in place)",
    "IncludeInputInBuffer": "IncludeInputInBuffer (inputs inside the arena)",
}


def format_memory_report(problem: MemoryProblem, plan: MemoryPlan,
                         summary: dict | None = None, title: str = "",
                         notes: tuple[str, ...] = ()) -> str:
    """What ``--memory-report`` prints: arena, lower bound, ratio, the bytes each
    optimisation saves (when ``summary`` is given), ``notes`` and the per-buffer mapping."""
    external = _external_bytes(problem, plan)
    lines = [f"memory plan{' of ' + title if title else ''}",
             f"  arena:        {plan.arena_size:>12,} bytes  (strategy {plan.strategy}, "
             f"offsets from {plan.chosen})",
             f"  lower bound:  {plan.lower_bound:>12,} bytes"
             + (f"  (proven by CP-SAT; live-bytes bound {plan.step_bound:,})"
                if plan.step_bound is not None and plan.step_bound < plan.lower_bound else ""),
             f"  plan / bound: {plan.ratio:>12.4f}" + ("  (optimal)" if plan.optimal else "")]
    if external:
        lines.append(f"  external:     {external:>12,} bytes  (inputs outside the arena)")
    if summary is not None:
        lines.append("  bytes saved by each optimisation (re-planned without it):")
        for key, saved in summary["saved_bytes"].items():
            lines.append(f"    {SAVING_LABELS.get(key, key):<58} {saved:>12,}")
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines) + "\n\n" + format_mapping_log(problem, plan)


def write_memory_reports(problem: MemoryProblem, plan: MemoryPlan,
                         directory: str | Path, text: str | None = None) -> dict[str, Path]:
    """Write ``memory_mapping.log`` (``text``, default ``format_mapping_log``) and
    ``memory_mapping.png`` into ``directory``."""
    from .plot import plot_memory_mapping  # matplotlib only when a picture is wanted

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    log = out / LOG_NAME
    log.write_text(text if text is not None else format_mapping_log(problem, plan),
                   encoding="utf-8")
    png = out / PNG_NAME
    plot_memory_mapping(problem, plan, png)
    return {"log": log, "png": png}
