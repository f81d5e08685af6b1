"""Random DAG-like problems: every plan is safe, exact is never beaten."""

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from memory_testkit import conv_chains, option_sets, problems
from n2d2c.passes.memory import (HEURISTICS, STRATEGIES, MemoryOptions, MemoryProblem,
                                 check_plan, plan_memory)

FAST = settings(max_examples=60, deadline=None)


@FAST
@given(problems(), option_sets())
def test_every_strategy_is_safe_and_exact_is_best(problem, options):
    plans = {name: plan_memory(problem, options, strategy=name, time_limit=2)
             for name in STRATEGIES}
    step = plans["exact"].step_bound
    proven = plans["exact"].lower_bound  # the per-step bound, raised by CP-SAT's proof
    assert proven >= step
    for name, plan in plans.items():
        check_plan(problem, plan)
        assert plan.step_bound == step
        assert plan.lower_bound == (proven if name == "exact" else step)
        assert plan.arena_size >= proven, name  # a proven bound holds for every plan
    heuristic_best = min(plans[name].arena_size for name in HEURISTICS)
    assert plans["best"].arena_size == heuristic_best
    assert plans["exact"].arena_size <= heuristic_best


@FAST
@given(conv_chains())
def test_wrapping_conv_chains(problem):
    plain = plan_memory(problem, MemoryOptions(OptimizeBufferMemory=False), strategy="exact",
                        time_limit=2)
    for name in STRATEGIES:
        plan = plan_memory(problem, strategy=name, time_limit=2)
        check_plan(problem, plan)
        assert plan.arena_size >= plan.lower_bound
    # on a chain, using the relations never makes the optimal plan larger
    assert plan.strategy == "exact"
    if plan.optimal:  # always with OR-Tools; heuristics alone prove nothing
        assert plan.arena_size <= plain.arena_size


@settings(max_examples=30, deadline=None)
@given(problems(), option_sets(), st.randoms(use_true_random=False),
       st.sampled_from(STRATEGIES))
def test_deterministic_and_independent_of_buffer_order(problem, options, rng, name):
    first = plan_memory(problem, options, strategy=name, time_limit=2)
    again = plan_memory(problem, options, strategy=name, time_limit=2)
    shuffled = list(problem.buffers)
    rng.shuffle(shuffled)
    permuted = plan_memory(dataclasses.replace(problem, buffers=tuple(shuffled)), options,
                           strategy=name, time_limit=2)
    assert first.offsets == again.offsets == permuted.offsets
    assert list(first.offsets) == sorted(first.offsets)
    assert first.shared == permuted.shared


@settings(max_examples=40, deadline=None)
@given(problems())
def test_sharing_never_costs_more_than_no_reuse(problem: MemoryProblem):
    stacked = plan_memory(problem, strategy="None")
    assert plan_memory(problem, strategy="exact", time_limit=2).arena_size <= stacked.arena_size
