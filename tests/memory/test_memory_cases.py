"""Hand-built networks with known optimal arenas."""

import pytest

from memory_testkit import chain
from n2d2c.passes.memory import (STRATEGIES, Buffer, ConvWrap, MemoryOptions, MemoryProblem,
                                 check_plan, plan_memory, problem_lower_bound)

REUSING = [s for s in STRATEGIES if s != "None"]


def plan_all(problem, options=None):
    plans = {}
    for name in STRATEGIES:
        plan = plan_memory(problem, options, strategy=name, time_limit=2)
        check_plan(problem, plan)
        plans[name] = plan
    return plans


def test_chain_reaches_lower_bound_with_every_reusing_strategy():
    problem = chain([300, 120, 500, 80, 260, 40])
    plans = plan_all(problem)
    assert plans["None"].arena_size == 1300
    bound = max(a + b for a, b in zip([300, 120, 500, 80, 260], [120, 500, 80, 260, 40]))
    for name in REUSING:
        assert plans[name].lower_bound == bound
        assert plans[name].arena_size == bound, name
        assert plans[name].optimal


def test_residual_block():
    # x -> conv a -> conv b -> add(x, b) = c: x stays live across a and b
    problem = MemoryProblem((
        Buffer("x", 100, -1, 2), Buffer("a", 100, 0, 1), Buffer("b", 100, 1, 2),
        Buffer("c", 100, 2, 3, inplace_of="b"), Buffer("d", 50, 3, 4)))
    plans = plan_all(problem)
    # step 1 holds x, a and b; at step 2 c takes b's bytes so x + b/c = 200
    assert plans["exact"].lower_bound == 300
    assert plans["exact"].arena_size == 300
    assert plans["exact"].offsets["c"] == plans["exact"].offsets["b"]


def test_diamond_without_relations():
    problem = MemoryProblem((
        Buffer("in", 64, -1, 1), Buffer("left", 32, 0, 2), Buffer("right", 48, 1, 2),
        Buffer("join", 16, 2, 3)))
    plans = plan_all(problem)
    assert plans["exact"].arena_size == plans["exact"].lower_bound == 144


def test_inplace_relu_shares_bytes_only_at_last_read():
    problem = MemoryProblem((Buffer("conv", 256, 0, 1), Buffer("relu", 256, 1, 2,
                                                               inplace_of="conv")))
    plan = plan_memory(problem)
    assert plan.offsets["relu"] == plan.offsets["conv"] and plan.arena_size == 256
    assert [s.kind for s in plan.shared] == ["inplace"]
    # conv still read at step 2 by someone else: no sharing allowed
    late = MemoryProblem((Buffer("conv", 256, 0, 2), Buffer("relu", 256, 1, 2,
                                                            inplace_of="conv")))
    plan = plan_memory(late)
    check_plan(late, plan)
    assert plan.arena_size == 512 and not plan.shared
    off = plan_memory(problem, MemoryOptions(OptimizeBufferMemory=False))
    assert off.arena_size == 512


def test_concat_in_place_writes_producers_into_their_slices():
    problem = MemoryProblem((
        Buffer("in", 40, -1, 1), Buffer("p", 30, 0, 2, concat_into=("cat", 0)),
        Buffer("q", 50, 1, 2, concat_into=("cat", 30)), Buffer("cat", 80, 2, 3),
        Buffer("out", 10, 3, 4)), alignment=2)
    plans = plan_all(problem)
    plan = plans["OptimizeMaxLifetimeMaxSizeFirst"]
    assert plan.offsets["p"] == plan.offsets["cat"]
    assert plan.offsets["q"] == plan.offsets["cat"] + 30
    assert {s.kind for s in plan.shared} == {"concat"}
    # step 1: in + p + q live, p and q inside cat -> 40 + 80
    assert plans["exact"].arena_size == plans["exact"].lower_bound == 120
    off = plan_memory(problem, MemoryOptions(OptimizeNoBranchConcat=False), strategy="exact")
    assert off.arena_size > plans["exact"].arena_size


def test_concat_slice_not_aligned_is_copied_instead():
    problem = MemoryProblem((Buffer("p", 3, 0, 2, concat_into=("cat", 0)),
                             Buffer("q", 5, 1, 2, concat_into=("cat", 3)),
                             Buffer("cat", 8, 2, 3)), alignment=4)
    plan = plan_memory(problem)
    check_plan(problem, plan)
    assert [s.buffer for s in plan.shared] == ["p"]


@pytest.mark.parametrize("kh,stride,pad,in_rows,out_rows", [(3, 1, 1, 8, 8), (3, 2, 1, 8, 4)])
def test_wrapped_conv_is_smaller_and_safe(kh, stride, pad, in_rows, out_rows):
    row_in, row_out = 12, 12 if stride == 1 else 6
    wrap = ConvWrap("x", in_rows, out_rows, row_in, row_out, kh, stride, pad)
    problem = MemoryProblem((Buffer("x", in_rows * row_in, -1, 0),
                             Buffer("y", out_rows * row_out, 0, 1, wrap=wrap)))
    on = plan_all(problem)
    off = plan_memory(problem, MemoryOptions(OptimizeBufferMemory=False), strategy="exact")
    assert off.arena_size == problem.buffers[0].size + problem.buffers[1].size
    for name in REUSING:
        assert on[name].arena_size < off.arena_size, name
        assert on[name].arena_size == in_rows * row_in + wrap.margin, name
        assert on[name].offsets["x"] - on[name].offsets["y"] == wrap.margin
    assert on["exact"].optimal


def test_graph_input_can_stay_outside_the_arena():
    problem = chain([500, 100, 100])
    plan = plan_memory(problem, MemoryOptions(IncludeInputInBuffer=False))
    check_plan(problem, plan)
    assert plan.external == ("t0",) and "t0" not in plan.offsets
    assert plan.arena_size == 200


def test_alignment_rounds_offsets_and_bound():
    problem = MemoryProblem((Buffer("a", 5, 0, 2), Buffer("b", 5, 1, 2), Buffer("c", 5, 1, 2)))
    plan = plan_memory(problem, MemoryOptions(MemoryAlignment=8), strategy="exact")
    check_plan(problem, plan)
    assert all(o % 8 == 0 for o in plan.offsets.values())
    assert plan.lower_bound == 8 + 8 + 5 == plan.arena_size
    assert problem_lower_bound(problem) == 15
