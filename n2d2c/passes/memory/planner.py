"""Entry point: ``plan_memory(problem, options) -> MemoryPlan``."""

from __future__ import annotations

import dataclasses

from . import exact
from .bound import lower_bound
from .layout import Layout, build_layout
from .options import MemoryOptions
from .placement import arena_of, member_offsets
from .problem import MemoryPlan, MemoryProblem
from .strategies import HEURISTICS, run_best


def plan_memory(problem: MemoryProblem, options: MemoryOptions | None = None, *,
                strategy: str | None = None, time_limit: float | None = None) -> MemoryPlan:
    """Place every arena buffer of ``problem``.

    ``strategy`` and ``time_limit`` override ``options.MemoryManagerStrategy``
    and ``options.exact_time_limit``.
    """
    options = options or MemoryOptions()
    if strategy is not None or time_limit is not None:
        options = dataclasses.replace(
            options, MemoryManagerStrategy=strategy or options.MemoryManagerStrategy,
            exact_time_limit=time_limit or options.exact_time_limit)
    name = options.MemoryManagerStrategy  # validated by MemoryOptions
    layout = build_layout(problem, options)
    bound = step = lower_bound(layout)
    status = None
    if name in HEURISTICS:
        chosen, roots = name, HEURISTICS[name](layout)
    else:
        chosen, roots = run_best(layout)
        if name == "exact":
            chosen, roots, status, bound = _improve_exactly(layout, roots, chosen, bound,
                                                            options.exact_time_limit)
    arena = arena_of(layout, roots)
    offsets = member_offsets(layout, roots)
    return MemoryPlan(
        offsets=offsets, arena_size=arena, strategy=name,
        lower_bound=bound, alignment=layout.alignment, chosen=chosen,
        optimal=arena <= bound or status == "OPTIMAL", external=layout.external,
        shared=_realised(layout, offsets), solver_status=status, options=options,
        step_bound=step)


def _realised(layout: Layout, offsets: dict[str, int]):
    """In-place/concat ties always hold; a wrap counts only if bytes overlap."""
    sizes = {m.name: m.size for block in layout.blocks for m in block.members}

    def used(s) -> bool:
        if s.kind != "wrap":
            return True
        out, inp = offsets[s.buffer], offsets[s.target]
        return max(out, inp) < min(out + sizes[s.buffer], inp + sizes[s.target])
    return tuple(s for s in layout.shared if used(s))


def _improve_exactly(layout: Layout, roots: list[int], chosen: str, bound: int,
                     time_limit: float) -> tuple[str, list[int], str, int]:
    """CP-SAT hinted with the best heuristic; keeps the heuristic unless beaten.

    Also returns the lower bound: the per-step bound, raised to what CP-SAT proved
    (the arena itself when it proved the placement optimal)."""
    upper = arena_of(layout, roots)
    if upper <= bound or not layout.blocks:
        return chosen, roots, "LOWER_BOUND_REACHED", bound  # nothing left to prove
    solved, status, proven = exact.solve(layout, roots, upper, bound, time_limit)
    bound = max(bound, proven)
    if solved is not None and arena_of(layout, solved) < upper:
        return "exact", solved, status, bound
    return chosen, roots, status, bound
