"""Every pass keeps the network's function: outputs before and after agree
(rtol 1e-4) on random layer chains (hypothesis) and on hand-built models.

Outputs are computed by the test evaluator (passes_refeval) and, when it is
importable, also by n2d2c.runtime.simulate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from n2d2c.ir import verify
from n2d2c.passes import Pipeline, pass_names
from passes_models import copy_graph, layer_chains, mobilenet_v2_like
from passes_refeval import random_feeds, run_graph

try:
    from n2d2c.runtime import simulate
except ImportError:  # the simulator is optional for these tests
    simulate = None

PIPELINES = ["fold-constants", "dead-code", "remove-dropout", "fuse-bn", "fuse-padding",
             "fuse-activation", "simplify-reshape", "equalize-weights", "recognize-activations",
             "equalize-weights{clip=skip,absorb-bias=true}",
             # The order a backend would use: canonicalise, fuse, equalise, fuse activations.
             "remove-dropout,simplify-reshape,fold-constants,recognize-activations,fuse-bn,"
             "fuse-padding,equalize-weights{absorb-bias=true},fuse-activation,dead-code",
             # Memory planning only annotates values with placements (tests/memory).
             "plan-memory"]


# Passes that approximate the function on purpose; tested in their own folders.
LOSSY = {"quantize"}  # tests/quantization
# Passes that change the graph's interface on purpose (the inputs' shapes), so the same
# feeds do not apply; tested in their own files.
INTERFACE = {"set-batch",   # tests/passes/test_set_batch.py
             "integer-io"}  # tests/passes/test_integer_io_pass.py


def test_every_pass_is_covered():
    covered = {name for p in PIPELINES for name in (q.name for q in Pipeline.parse(p))}
    assert covered == set(pass_names()) - LOSSY - INTERFACE


EVALUATORS = [run_graph] + ([lambda g, f: dict(simulate(g, f))] if simulate else [])


def assert_same_function(before, after, feeds, label="", expected=None):
    """``expected``: the outputs of ``before`` per evaluator, when already known."""
    for i, evaluate in enumerate(EVALUATORS):
        want_all = expected[i] if expected else evaluate(before, feeds)
        actual = evaluate(after, feeds)
        assert list(actual) == list(want_all), f"{label}: output names changed"
        for name, want in want_all.items():
            scale = float(np.max(np.abs(want[np.isfinite(want)]), initial=1.0))
            np.testing.assert_allclose(actual[name], want, rtol=1e-4, atol=1e-5 * scale,
                                       err_msg=f"{label}: output %{name}")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=layer_chains())
def test_random_chains(graph):
    verify(graph)
    feeds = random_feeds(graph)
    expected = [evaluate(graph, feeds) for evaluate in EVALUATORS]
    for text in PIPELINES:
        after = copy_graph(graph)
        pipeline = Pipeline.parse(text)
        pipeline.run(after, verify_each=True)
        assert_same_function(graph, after, feeds, text, expected)
        if "equalize-weights" not in text:  # the rewrites reach a fixed point
            again = pipeline.run(after)
            assert not any(run.result.changed for run in again.runs), text


@pytest.mark.parametrize("with_bn", [False, True], ids=["folded", "with-bn"])
@pytest.mark.parametrize("pipeline", PIPELINES)
def test_mobilenet_like(pipeline, with_bn):
    graph = mobilenet_v2_like(seed=3, with_bn=with_bn)
    after = copy_graph(graph)
    Pipeline.parse(pipeline).run(after)
    assert_same_function(graph, after, random_feeds(graph), pipeline)
