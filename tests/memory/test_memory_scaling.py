"""The planner on big graphs: the sweeps agree with the brute force they replace, long
chains of wraps plan without recursion, and the default strategy is the best heuristic."""

from hypothesis import given, settings
from hypothesis import strategies as st

from memory_testkit import problems
from n2d2c.passes.memory import (HEURISTICS, Buffer, ConvWrap, MemoryOptions, MemoryProblem,
                                 check_plan, plan_memory)
from n2d2c.passes.memory.bound import _bound, _runs, step_bounds
from n2d2c.passes.memory.intervals import overlapping_pairs
from n2d2c.passes.memory.layout import build_layout

FAST = settings(max_examples=80, deadline=None)


@FAST
@given(st.lists(st.tuples(st.integers(-1, 12), st.integers(0, 6)), max_size=30))
def test_overlapping_pairs_is_every_pair_sharing_a_step(raw):
    spans = [(start, start + length) for start, length in raw]
    expected = [(i, j) for i in range(len(spans)) for j in range(i + 1, len(spans))
                if spans[i][0] <= spans[j][1] and spans[j][0] <= spans[i][1]]
    assert overlapping_pairs(spans) == expected


@FAST
@given(problems())
def test_step_bounds_in_one_sweep_equal_each_step_alone(problem):
    layout = build_layout(problem, MemoryOptions())
    steps = sorted({t for b in problem.buffers for t in (b.start, b.end, b.end + 1)})
    members = {m.name: m for block in layout.blocks for m in block.members}
    for t, got in step_bounds(layout, steps).items():
        lengths = [n for block in layout.blocks if block.start <= t <= block.end
                   for n in _runs(block, t)]
        overlap = sum(max(0, min(members[w.input].size, members[w.output].size,
                                 members[w.output].size - w.margin))
                      for w in layout.wraps if members[w.output].start == t)
        assert got == _bound(lengths, overlap, layout.alignment), t


def _conv_chain(layers: int) -> MemoryProblem:
    """input -> 3x3 conv -> 3x3 conv -> ..., each output wrapping its input."""
    buffers = [Buffer("l00000", 64, -1, 0)]
    for k in range(1, layers + 1):
        wrap = ConvWrap(buffers[-1].name, 8, 8, 8, 8, 3, 1, 1)
        buffers.append(Buffer(f"l{k:05d}", 64, k - 1, k, wrap=wrap))
    return MemoryProblem(tuple(buffers))


def test_a_chain_of_thousands_of_wraps_plans_with_every_heuristic():
    problem = _conv_chain(3000)  # deeper than Python's recursion limit
    for name in list(HEURISTICS) + ["best"]:
        plan = plan_memory(problem, strategy=name)
        check_plan(problem, plan)
        if name != "None":
            assert plan.arena_size <= 2 * 64, name


@settings(max_examples=40, deadline=None)
@given(problems())
def test_the_default_is_the_smallest_heuristic_arena_and_deterministic(problem):
    default = plan_memory(problem)
    assert default.strategy == "best"
    assert default.arena_size == min(plan_memory(problem, strategy=h).arena_size
                                     for h in HEURISTICS)
    assert plan_memory(problem) == default
