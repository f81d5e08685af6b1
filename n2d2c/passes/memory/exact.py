"""Exact placement with CP-SAT (OR-Tools), optional.

Model: one integer ``q_i`` per block (root offset = ``alignment * q_i``), the
arena ``A >= alignment*q_i + extent_i``, and for every pair of blocks that can
collide, ``q_j - q_i`` restricted to the integers outside the pair's
forbidden intervals (one "linear expression in domain" constraint).  This is
the same model the heuristics use, so "optimal" means optimal for it.

Determinism: a single worker, a fixed seed and a *deterministic* time limit,
so a given problem always yields the same offsets.  A wall-clock cap well
above the deterministic one only guards against a runaway solve.
"""

from __future__ import annotations

import math

from .layout import Layout

try:  # OR-Tools is an optional dependency (extra "memory")
    from ortools.sat.python import cp_model
    from ortools.util.python.sorted_interval_list import Domain
except ImportError:  # pragma: no cover - exercised only without ortools
    cp_model = None


def available() -> bool:
    return cp_model is not None


def _allowed_steps(spans, alignment: int, bound: int) -> list[list[int]]:
    """Integer ``k`` in ``[-bound, bound]`` with ``alignment*k`` outside all open spans."""
    holes = []
    for lo, hi in spans:
        k_lo, k_hi = lo // alignment + 1, -((-hi) // alignment) - 1
        if k_lo <= k_hi:
            holes.append((k_lo, k_hi))
    holes.sort()
    allowed, cursor = [], -bound
    for k_lo, k_hi in holes:
        if k_lo > cursor:
            allowed.append([cursor, min(k_lo - 1, bound)])
        cursor = max(cursor, k_hi + 1)
        if cursor > bound:
            break
    if cursor <= bound:
        allowed.append([cursor, bound])
    return [iv for iv in allowed if iv[0] <= iv[1]]


def solve(layout: Layout, hint: list[int], upper: int, lower: int,
          time_limit: float) -> tuple[list[int] | None, str, int]:
    """Best roots found with arena <= ``upper`` (None if none), the status name, and the
    lower bound CP-SAT proved for the arena (``lower`` when it proved nothing better)."""
    if cp_model is None:
        return None, "UNAVAILABLE", lower
    align = layout.alignment
    model = cp_model.CpModel()
    qs = []
    for i, block in enumerate(layout.blocks):
        top = (upper - block.extent) // align
        q = model.new_int_var(0, max(top, 0), f"q{i}")
        model.add_hint(q, hint[i] // align)
        qs.append(q)
    arena = model.new_int_var(min(lower, upper), upper, "arena")
    for q, block in zip(qs, layout.blocks):
        model.add(arena >= align * q + block.extent)
    bound = max(upper // align + 1, 1)
    for (i, j), spans in sorted(layout.forbidden.items()):
        allowed = _allowed_steps(spans, align, bound)
        model.add_linear_expression_in_domain(qs[j] - qs[i], Domain.from_intervals(allowed))
    model.add_hint(arena, upper)
    model.minimize(arena)

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = float(time_limit)
    solver.parameters.max_time_in_seconds = 4.0 * time_limit + 5.0
    status = solver.solve(model)
    name = solver.status_name(status)
    # The model only holds placements with arena <= upper; CP-SAT's objective bound holds
    # for all of them, and placements with a larger arena exceed it anyway, so
    # min(bound, upper) is a lower bound on every placement of the layout.
    proven = lower
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):
        proven = max(lower, math.ceil(solver.best_objective_bound - 1e-9))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, name, min(proven, upper)
    return [align * solver.value(q) for q in qs], name, min(proven, upper)
