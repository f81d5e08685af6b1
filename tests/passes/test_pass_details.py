"""Pass behaviour that is easier to state in Python than in IR files."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.ir import parse_graph, print_graph
from n2d2c.ir import ops as O
from n2d2c.passes import FoldConstants, FuseBatchNorm, Pipeline
from passes_models import copy_graph
from passes_refeval import random_feeds, run_graph

CONST_CONV = """graph @g(%x: tensor<1x2x3x3xf32>) {
  %in = constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]> : tensor<1x1x3x3xf32>
  %w = constant dense<[1.0, -1.0]> : tensor<2x1x1x1xf32>
  %c = conv2d(%in, %w) {activation = "relu"} : tensor<1x2x3x3xf32>
  %y = add(%x, %c) : tensor<1x2x3x3xf32>
  return %y
}"""


def test_fold_constants_uses_the_simulator_for_convolutions():
    pytest.importorskip("n2d2c.runtime")
    graph = parse_graph(CONST_CONV)
    expected = run_graph(graph, random_feeds(graph))
    result = FoldConstants().apply(graph)
    assert result.statistics == {"folded": 1}
    folded = graph.constant_value(graph.find_op("y").inputs[1])
    np.testing.assert_array_equal(folded[0, 0].ravel(), np.arange(1, 10))
    np.testing.assert_array_equal(folded[0, 1], np.zeros((3, 3)))
    np.testing.assert_allclose(run_graph(graph, random_feeds(graph))["y"], expected["y"])


def test_fold_constants_without_the_simulator_keeps_convolutions():
    graph = parse_graph(CONST_CONV)
    assert FoldConstants(use_simulator=False).apply(graph).statistics == {"folded": 0}
    assert graph.ops_of(O.Conv2d)


def test_fuse_bn_leaves_shared_weights_alone():
    graph = parse_graph("""graph @g(%x: tensor<1x1x2x2xf32>) {
      %w = constant dense<[1.0, 2.0]> : tensor<2x1x1x1xf32>
      %a = conv2d(%x, %w) : tensor<1x2x2x2xf32>
      %s = constant dense<[2.0, 3.0]> : tensor<2xf32>
      %z = constant dense<[0.0, 0.0]> : tensor<2xf32>
      %one = constant dense<[1.0, 1.0]> : tensor<2xf32>
      %bn = batch_norm(%a, %s, %z, %z, %one) {epsilon = 0.0} : tensor<1x2x2x2xf32>
      %b = conv2d(%x, %w) : tensor<1x2x2x2xf32>
      %y = add(%bn, %b) : tensor<1x2x2x2xf32>
      return %y
    }""")
    before = copy_graph(graph)
    FuseBatchNorm().apply(graph)
    text = print_graph(graph, inline_limit=None)
    assert "%w = constant dense<[1.0, 2.0]>" in text
    assert "dense<[2.0, 6.0]>" in text
    assert "%b = conv2d(%x, %w)" in text
    feeds = random_feeds(before)
    np.testing.assert_allclose(run_graph(graph, feeds)["y"], run_graph(before, feeds)["y"],
                               rtol=1e-6)


def test_statistics_count_rewrites():
    graph = parse_graph("""graph @g(%x: tensor<1x2x4x4xf32>) {
      %p = pad(%x) {pads = [0, 0, 1, 1, 0, 0, 1, 1]} : tensor<1x2x6x6xf32>
      %w = constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<2x2x1x1xf32>
      %c = conv2d(%p, %w) : tensor<1x2x6x6xf32>
      %r = relu(%c) : tensor<1x2x6x6xf32>
      %d = dropout(%r) : tensor<1x2x6x6xf32>
      %t = reshape(%d) {shape = [1, 2, 6, 6]} : tensor<1x2x6x6xf32>
      %u = sigmoid(%t) : tensor<1x2x6x6xf32>
      return %u
    }""")
    report = Pipeline.parse("fuse-padding,fuse-activation,remove-dropout,simplify-reshape,"
                            "dead-code").run(graph)
    stats = [run.result.statistics for run in report.runs]
    assert stats == [{"fused": 1}, {"fused": 1}, {"removed": 1},
                     {"removed": 1, "collapsed": 0}, {"erased": 0}]
    assert [op.OP_NAME for op in graph.ops] == ["constant", "conv2d", "sigmoid"]
