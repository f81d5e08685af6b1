"""Before -> after tests of the lowering: every case of programs/*.ir is parsed as graph
IR, lowered to a Program, printed and FileCheck-ed (the format of tests/passes/ir).

A case's ``// PIPELINE:`` line is ``lower``, or ``lower concat_in_place`` for in-place
concatenation (the memory option OptimizeNoBranchConcat)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.backends.c import SeparateBuffers
from n2d2c.backends.c.memory import BufferRequest
from n2d2c.backends.c.program import lower_graph
from n2d2c.ir import parse_graph
from passes.passes_filecheck import filecheck, read_cases

CASES = [case for path in sorted((Path(__file__).parent / "programs").glob("*.ir"))
         for case in read_cases(path)]
OPTIONS = {"concat_in_place"}


def lower_case(case):
    words = case.pipeline.split()
    if not words or words[0] != "lower" or set(words[1:]) - OPTIONS:
        raise ValueError(f"{case.id}: pipeline {case.pipeline!r} is not 'lower [concat_in_place]'")
    graph = parse_graph(case.text, filename=str(case.file))
    return lower_graph(graph, graph.name, concat_in_place="concat_in_place" in words)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_lowered_program(case):
    printed = str(lower_case(case))
    error = filecheck(printed, case.text, str(case.file))
    assert error is None, f"{case.id} (line {case.line}):\n{error}\n--- output ---\n{printed}"


def test_printing_is_deterministic():
    for case in CASES:
        assert str(lower_case(case)) == str(lower_case(case))


def test_placement_adds_offsets_and_the_arena_size():
    graph = parse_graph("""graph @two(%x: tensor<2x3xf32>) {
  %r = relu(%x) : tensor<2x3xf32>
  %y = sigmoid(%r) : tensor<2x3xf32>
  return %y
}
""")
    program = lower_graph(graph, "two")
    spans = program.buffer_lifetimes()
    requests = [BufferRequest(st.name, st.size * st.itemsize, *spans[st.name])
                for st in program.arena.values()]
    text = program.to_text(SeparateBuffers(64).place(requests))
    error = filecheck(text, """
// CHECK:      arena %x: 6xf32 @ 0
// CHECK-NEXT: arena %r_1: 6xf32 @ 64
// CHECK-NEXT: arena %y_1: 6xf32 @ 128
// CHECK-NEXT: arena size 192 bytes, alignment 64
""")
    assert error is None, f"{error}\n--- output ---\n{text}"


def test_parameters_print_as_summaries():
    from n2d2c.backends.c.program_text import format_param
    assert format_param(np.zeros((8, 1, 5, 5), np.float32)) == "tensor<8x1x5x5xf32>"
    assert format_param([np.arange(3), None]) == "[tensor<3xi64>, none]"
    assert format_param((1.0, float("-inf"), True, "max")) == '[1.0, -inf, true, "max"]'
