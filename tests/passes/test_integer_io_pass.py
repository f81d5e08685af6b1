"""`integer-io`: Before -> After on textual IR (tests/passes/ir_shape_changing: the pass
changes the graph's interface, so the equivalence suite's feeds do not apply; the
numbers are checked end to end in tests/backend_stm32/test_integer_io.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from n2d2c.errors import UsageError
from n2d2c.ir import parse_graph, print_graph
from n2d2c.passes import Pipeline
from passes_filecheck import filecheck, read_cases

CASES = read_cases(Path(__file__).parent / "ir_shape_changing" / "integer_io.ir")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_integer_io_case(case):
    graph = parse_graph(case.text, filename=str(case.file))
    Pipeline.parse(case.pipeline).run(graph, verify_each=True)
    printed = print_graph(graph, inline_limit=None)
    error = filecheck(printed, case.text, str(case.file))
    assert error is None, f"{case.id}:\n{error}\n--- output ---\n{printed}"


def test_a_float_graph_has_no_integer_edges_to_move():
    graph = parse_graph("""graph @float(%x: tensor<1x3xf32>) {
  %y = relu(%x) : tensor<1x3xf32>
  return %y
}""")
    with pytest.raises(UsageError, match="input %x is not quantized right away"):
        Pipeline.parse("integer-io").run(graph)
