"""Before → after tests on textual IR: every case of tests/passes/ir/*.ir is parsed,
run through its pipeline (verifying after each pass), printed and FileCheck-ed;
then the outputs before and after the pipeline are compared on random inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.ir import parse_graph, print_graph
from n2d2c.passes import Pipeline
from passes_filecheck import filecheck, read_cases
from passes_refeval import random_feeds, run_graph

CASES = [case for path in sorted((Path(__file__).parent / "ir").glob("*.ir"))
         for case in read_cases(path)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ir_case(case):
    graph = parse_graph(case.text, filename=str(case.file))
    feeds = random_feeds(graph)
    expected = run_graph(graph, feeds)

    Pipeline.parse(case.pipeline).run(graph, verify_each=True)
    printed = print_graph(graph, inline_limit=None)
    error = filecheck(printed, case.text, str(case.file))
    assert error is None, f"{case.id} (line {case.line}):\n{error}\n--- output ---\n{printed}"

    # The textual form round-trips, and the function is unchanged.
    assert print_graph(parse_graph(printed), inline_limit=None) == printed
    actual = run_graph(graph, feeds)
    assert list(actual) == list(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{case.id}: output %{name}")
