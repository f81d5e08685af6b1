"""The exact strategy: fallbacks, time limits, and beating the heuristics."""

import os
import random

import pytest

from n2d2c.passes.memory import HEURISTICS, Buffer, MemoryProblem, check_plan, plan_memory
from n2d2c.passes.memory import exact

# OR-Tools is an optional extra: skip locally without it, but never in CI.
needs_ortools = pytest.mark.skipif(not exact.available() and not os.environ.get("CI"),
                                   reason="ortools not installed (pip install ortools)")


def scattered(n: int, seed: int) -> MemoryProblem:
    rng = random.Random(seed)
    buffers = []
    for i in range(n):
        start = rng.randint(0, n // 2)
        buffers.append(Buffer(f"b{i:03d}", rng.randint(1, 100) * 16, start,
                              start + rng.randint(0, 6)))
    return MemoryProblem(tuple(buffers), alignment=16)


@needs_ortools
def test_exact_beats_every_heuristic_on_a_hard_instance():
    problem = scattered(100, 3)
    plan = plan_memory(problem, strategy="exact", time_limit=5)
    check_plan(problem, plan)
    heuristic = min(plan_memory(problem, strategy=h).arena_size for h in HEURISTICS)
    assert plan.arena_size < heuristic
    assert plan.chosen == "exact" and plan.optimal and plan.solver_status == "OPTIMAL"
    assert plan.arena_size == plan.lower_bound


@needs_ortools
def test_tiny_time_limit_falls_back_to_the_best_heuristic():
    problem = scattered(100, 3)
    plan = plan_memory(problem, strategy="exact", time_limit=1e-6)
    best = plan_memory(problem, strategy="best")
    check_plan(problem, plan)
    assert plan.arena_size <= best.arena_size
    assert plan.solver_status != "OPTIMAL" and not plan.optimal


def test_without_ortools_exact_is_best(monkeypatch):
    monkeypatch.setattr(exact, "cp_model", None)
    problem = scattered(100, 3)
    plan = plan_memory(problem, strategy="exact")
    best = plan_memory(problem, strategy="best")
    assert plan.offsets == best.offsets and plan.chosen == best.chosen
    assert plan.solver_status == "UNAVAILABLE" and not plan.optimal
