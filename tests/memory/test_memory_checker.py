"""The checker must reject broken plans, not just accept good ones."""

import pytest

from n2d2c.errors import InternalError
from n2d2c.passes.memory import (Buffer, ConvWrap, MemoryPlan, MemoryProblem, PlanCheckError,
                                 check_plan, plan_memory)


def plan_with(offsets, arena, alignment=1, external=()):
    return MemoryPlan(offsets=offsets, arena_size=arena, strategy="manual", lower_bound=0,
                      alignment=alignment, external=external)


def violations(problem, plan):
    with pytest.raises(PlanCheckError) as info:
        check_plan(problem, plan)
    assert isinstance(info.value, InternalError)
    return info.value.violations


def test_overlap_of_live_buffers():
    problem = MemoryProblem((Buffer("a", 10, 0, 2), Buffer("b", 10, 1, 3), Buffer("c", 4, 3, 4)))
    found = violations(problem, plan_with({"a": 0, "b": 5, "c": 0}, 15))
    assert len(found) == 1 and "a [0, 10) and b [5, 15) overlap on bytes [5, 10)" in found[0]
    check_plan(problem, plan_with({"a": 0, "b": 10, "c": 0}, 20))  # c reuses a: fine


def test_every_violation_is_listed():
    problem = MemoryProblem((Buffer("a", 10, 0, 1), Buffer("b", 10, 0, 1), Buffer("c", 3, 0, 1)),
                            alignment=4)
    found = violations(problem, plan_with({"a": 0, "b": 2, "d": 0}, 11))
    text = "\n".join(found)
    assert "unknown buffer 'd'" in text
    assert "c has no offset" in text
    assert "b: offset 2 is not a multiple of 4" in text
    assert "b: [2, 12) exceeds the arena" in text
    assert "overlap" in text


def test_misalignment_from_plan_alignment():
    problem = MemoryProblem((Buffer("a", 8, 0, 1), Buffer("b", 8, 0, 1)))
    found = violations(problem, plan_with({"a": 0, "b": 12}, 20, alignment=8))
    assert found == ["b: offset 12 is not a multiple of 8"]


def test_inplace_needs_last_read_and_same_offset():
    ok = MemoryProblem((Buffer("x", 8, 0, 1), Buffer("y", 8, 1, 2, inplace_of="x")))
    check_plan(ok, plan_with({"x": 0, "y": 0}, 8))
    violations(ok, plan_with({"x": 0, "y": 4}, 12))  # shifted: unsafe
    late = MemoryProblem((Buffer("x", 8, 0, 2), Buffer("y", 8, 1, 2, inplace_of="x")))
    violations(late, plan_with({"x": 0, "y": 0}, 8))  # x is read again at step 2


def test_two_overwriters_of_one_input():
    problem = MemoryProblem((Buffer("x", 8, 0, 1), Buffer("y", 8, 1, 2, inplace_of="x"),
                             Buffer("z", 8, 1, 2, inplace_of="x")))
    found = violations(problem, plan_with({"x": 0, "y": 0, "z": 0}, 8))
    assert any("overwritten in place by several buffers: y, z" in v for v in found)


def test_concat_slice_must_be_at_its_offset():
    problem = MemoryProblem((Buffer("p", 4, 0, 2, concat_into=("cat", 4)),
                             Buffer("cat", 8, 2, 3), Buffer("q", 4, 1, 2)))
    check_plan(problem, plan_with({"p": 4, "cat": 0, "q": 8}, 12))
    violations(problem, plan_with({"p": 0, "cat": 0, "q": 8}, 12))


def wrap_problem(kh, stride, pad, in_rows, out_rows, row_in, row_out):
    wrap = ConvWrap("x", in_rows, out_rows, row_in, row_out, kh, stride, pad)
    return wrap, MemoryProblem((Buffer("x", in_rows * row_in, -1, 0),
                                Buffer("y", out_rows * row_out, 0, 1, wrap=wrap)))


@pytest.mark.parametrize("geometry", [(3, 1, 1, 8, 8, 12, 12), (3, 2, 1, 8, 4, 12, 6),
                                      (5, 1, 2, 6, 6, 4, 8)])
def test_unsafe_wrap_by_one_row_or_one_byte_is_caught(geometry):
    wrap, problem = wrap_problem(*geometry)
    top = sum(b.size for b in problem.buffers)  # roomy: only the wrap is tested
    margin = wrap.margin
    check_plan(problem, plan_with({"y": 0, "x": margin}, top))
    for short in (margin - wrap.row_bytes_out, margin - 1):
        found = violations(problem, plan_with({"y": 0, "x": short}, top))
        assert len(found) == 1 and "wraps x unsafely" in found[0]


def test_wrap_without_last_read_is_an_overlap():
    wrap = ConvWrap("x", 4, 4, 2, 2, 1, 1, 0)
    problem = MemoryProblem((Buffer("x", 8, -1, 1), Buffer("y", 8, 0, 1, wrap=wrap)))
    found = violations(problem, plan_with({"y": 0, "x": wrap.margin}, 20))
    assert "overlap" in found[0]


def test_planner_output_passes_and_external_inputs_need_no_offset():
    problem = MemoryProblem((Buffer("in", 8, -1, 0), Buffer("a", 8, 0, 1)))
    check_plan(problem, plan_with({"a": 0}, 8, external=("in",)))
    violations(problem, plan_with({"in": 0}, 8, external=("in",)))  # a has no offset
    check_plan(problem, plan_memory(problem))
