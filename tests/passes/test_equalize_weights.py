"""Cross-layer equalisation on a MobileNetV2-like network, and its bias absorption."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.errors import UsageError
from n2d2c.ir import Graph, TensorType, parse_graph
from n2d2c.ir import ops as O
from n2d2c.passes import EqualizeWeights, EqualizeWeightsResult, Pipeline
from passes_models import Builder, copy_graph, mobilenet_v2_like
from passes_refeval import random_feeds, run_graph


def assert_outputs_match(before: Graph, after: Graph, seed: int = 0):
    feeds = random_feeds(before, seed)
    want, got = run_graph(before, feeds), run_graph(after, feeds)
    for name in want:
        scale = float(np.abs(want[name]).max())
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("pipeline,with_bn", [
    ("equalize-weights", False),
    ("fuse-bn,equalize-weights", True),          # the imbalance comes from folded BNs
    ("fuse-bn,equalize-weights{absorb-bias=true}", True),
])
def test_mobilenet_range_ratio_drops_tenfold(pipeline, with_bn):
    graph = mobilenet_v2_like(seed=0, with_bn=with_bn)
    after = copy_graph(graph)
    result = Pipeline.parse(pipeline).run(after).result("equalize-weights")
    assert isinstance(result, EqualizeWeightsResult)
    assert result.statistics["pairs"] == 6 and result.converged
    # Every expand and depthwise conv is the first layer of a pair; the project
    # convs feed residual adds and only have their input channels equalised.
    firsts = [r for r in result.layers if not r.name.endswith("project")]
    assert len(firsts) == 6
    for r in firsts:
        assert r.before > 1000 and r.before / r.after >= 10, r
    worst_before = max(r.before for r in firsts)
    worst_after = max(r.after for r in firsts)
    assert worst_before / worst_after >= 10
    # ReLU6 between the layers got per-channel bounds instead of being approximated.
    assert result.statistics["activations-rewritten"] == 6
    assert not after.ops_of(O.Clip) or all(
        op.name.startswith(("stem", "head")) for op in after.ops_of(O.Clip))
    assert_outputs_match(graph, after)


def test_report_lists_layers():
    graph = mobilenet_v2_like(seed=1)
    result = EqualizeWeights(max_iter=2, tolerance=0.0).apply(graph)
    assert result.iterations == 2 and not result.converged
    assert "2 sweeps (stopped at max-iter)" in result.report
    assert "b0.dw" in result.report and "range ratio before" in result.report


def test_second_run_is_a_fixed_point():
    graph = mobilenet_v2_like(seed=2)
    EqualizeWeights(tolerance=1e-6, max_iter=100).apply(graph)
    again = EqualizeWeights(tolerance=1e-4).apply(graph)
    assert again.iterations == 1
    for r in again.layers:
        assert r.after == pytest.approx(r.before, rel=1e-3)


def _absorb_model(act: str) -> Graph:
    """clip(x, 0, 6) → conv1 → act → conv2 (1x1, no padding).

    conv1's channel 0 has positive weights and bias 5, so its pre-activation is
    at least 5: that much can move into conv2's bias exactly.
    """
    rng = np.random.default_rng(0)
    g = Graph("absorb")
    b = Builder(g, rng)
    x = g.add_input("x", TensorType((1, 2, 5, 5)))
    y = b.unary(O.Clip(min=0.0, max=6.0), x, "in")
    w1 = np.array([[0.5, 2.0], [1.0, -1.0], [-3.0, -0.5]]).reshape(3, 2, 1, 1) * [[[[1]]], [[[30]]], [[[1]]]]
    y = g.add(O.Conv2d(pads=(1, 1, 1, 1)), [y, b.const(w1, "w1"), b.const([5.0, -100.0, 1.0], "b1")],
              ["conv1"]).output
    y = b.unary(O.Relu() if act == "relu" else O.Clip(min=0.0, max=6.0), y, "act")
    w2 = rng.standard_normal((2, 3, 1, 1))
    y = g.add(O.Conv2d(), [y, b.const(w2, "w2")], ["conv2"]).output
    g.outputs = [y]
    return g


@pytest.mark.parametrize("act", ["relu", "relu6"])
def test_absorb_bias_moves_provable_bias(act):
    graph = _absorb_model(act)
    after = copy_graph(graph)
    result = Pipeline.parse("equalize-weights{absorb-bias=true}").run(after).result(
        "equalize-weights")
    assert result.statistics["absorbed-channels"] == 1
    conv1, conv2 = after.find_op("conv1"), after.find_op("conv2")
    assert after.constant_value(conv1.inputs[2])[0] == pytest.approx(0.0, abs=1e-6)
    assert len(conv2.inputs) == 3  # conv2 gained a bias
    assert_outputs_match(graph, after)
    for seed in range(1, 4):
        assert_outputs_match(graph, after, seed)


def test_absorb_bias_needs_bounded_input():
    graph = _absorb_model("relu")
    # Without the clip in front, conv1's input is unbounded: nothing is provable.
    clip = graph.find_op("in")
    graph.replace_all_uses(clip.output, graph.inputs[0])
    graph.erase(clip)
    result = EqualizeWeights(absorb_bias=True).apply(graph)
    assert result.statistics["absorbed-channels"] == 0


def test_fused_bounded_activation_is_a_barrier():
    graph = parse_graph("""graph @g(%x: tensor<1x1x2x2xf32>) {
      %w1 = constant dense<[4.0, 1.0]> : tensor<2x1x1x1xf32>
      %c1 = conv2d(%x, %w1) {activation = "clip", activation_min = 0.0, activation_max = 6.0} : tensor<1x2x2x2xf32>
      %w2 = constant dense<[1.0, 4.0]> : tensor<1x2x1x1xf32>
      %c2 = conv2d(%c1, %w2) : tensor<1x1x2x2xf32>
      return %c2
    }""")
    assert EqualizeWeights().apply(graph).statistics["pairs"] == 0


def test_option_values_are_checked():
    with pytest.raises(UsageError, match="'max-iter' of pass 'equalize-weights' must be >= 1"):
        EqualizeWeights(max_iter=0)
    with pytest.raises(UsageError, match="option 'clip' of pass 'equalize-weights' expects one "
                                         "of per-channel | skip, got 'relu'"):
        EqualizeWeights(clip="relu")
    with pytest.raises(UsageError, match="expects an integer, got 2.5"):
        EqualizeWeights(max_iter=2.5)
