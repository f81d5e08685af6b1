"""`set-batch`: Before -> After on textual IR (tests/passes/ir_shape_changing, kept out of
ir/ because the pass changes the graph's interface), and the batched graph computes
each sample as the one-sample graph does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.ir import parse_graph, print_graph
from n2d2c.passes import Pipeline
from passes_filecheck import filecheck, read_cases
from passes_refeval import random_feeds, run_graph

CASES = read_cases(Path(__file__).parent / "ir_shape_changing" / "set_batch.ir")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_set_batch_case(case):
    graph = parse_graph(case.text, filename=str(case.file))
    samples = [random_feeds(graph) for _ in range(4)]
    singles = [run_graph(graph, feeds) for feeds in samples]
    Pipeline.parse(case.pipeline).run(graph, verify_each=True)
    printed = print_graph(graph, inline_limit=None)
    error = filecheck(printed, case.text, str(case.file))
    assert error is None, f"{case.id}:\n{error}\n--- output ---\n{printed}"
    batch = graph.inputs[0].type.shape[0]
    feeds = {k: np.concatenate([s[k] for s in samples[:batch]]) for k in samples[0]}
    batched = run_graph(graph, feeds)
    for name, got in batched.items():
        want = np.concatenate([s[name] for s in singles[:batch]])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
