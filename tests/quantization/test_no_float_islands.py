"""MobileNetV2, a MobileNetV3-style net (hard-swish written x * clip(x + 3, 0, 6) / 6,
squeeze-excite gates by a broadcast Mul) and a DBNet-style detector (four scales, nearest
and bilinear Resize, ConvTranspose, Concat, sigmoid map) quantize to integers end to end:
quantize only at the graph input, dequantize only at the output (none for the
classifiers: their final Softmax is an int_softmax of the 8-bit logits with the float
result the model declares), no float op at all, no QuantizationWarning about float ops,
and the int8 outputs stay close to float."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import ops as O
from n2d2c.ir import verify
from n2d2c.quantization import QuantizationWarning, quantize_graph
from n2d2c.runtime import Simulator
from quant_models import smooth_images

# name -> (model, input size, max |int8 - float| over the held-out samples, relative to
# the float output's largest magnitude)
NETWORKS = {
    "mobilenet_v2": (lambda: zoo.mobilenet_v2(size=32, width=0.35, classes=10), 32, 0.35),
    "mobilenet_v3": (lambda: zoo.mobilenet_v3_like(size=32), 32, 0.05),
    "dbnet": (lambda: zoo.dbnet_like(size=64), 64, 0.1),
}


@pytest.fixture(scope="module", params=sorted(NETWORKS))
def quantized(request):
    build, size, bound = NETWORKS[request.param]
    graph = load_onnx(build())
    calib = smooth_images(16, (3, size, size), seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qgraph, report = quantize_graph(graph, calib, nbbits=8)
    verify(qgraph)
    messages = [str(w.message) for w in caught if issubclass(w.category, QuantizationWarning)]
    return request.param, graph, qgraph, messages, bound, size


def test_quantize_and_dequantize_only_at_the_boundaries(quantized):
    name, graph, qgraph, messages, _, _ = quantized
    assert not [m for m in messages if "stay float" in m], messages
    quantizes = qgraph.ops_of(O.Quantize)
    dequantizes = qgraph.ops_of(O.Dequantize)
    assert [op.inputs[0] for op in quantizes] == list(qgraph.inputs)
    classifier = name != "dbnet"
    assert len(dequantizes) == (0 if classifier else 1), [op.name for op in dequantizes]
    # No float op: the classifiers end with an integer softmax (and its Identity).
    float_ops = [op for op in qgraph.ops if not isinstance(op, (O.Constant, O.Dequantize,
                                                                O.IntSoftmax))
                 and op.output.type.dtype.is_float]
    assert all(isinstance(op, O.Identity) for op in float_ops), float_ops
    assert not qgraph.ops_of(O.Softmax)
    assert len(qgraph.ops_of(O.IntSoftmax)) == (1 if classifier else 0)
    kinds = {type(op) for op in qgraph.ops}
    if name != "mobilenet_v2":
        assert O.Mul in kinds and O.Lookup in kinds  # squeeze-excite gate, hard-swish table
    if name == "dbnet":
        assert {O.Resize, O.ConvTranspose2d, O.Concat} <= kinds


def test_int8_stays_close_to_float(quantized):
    name, graph, qgraph, _, bound, size = quantized
    x = smooth_images(4, (3, size, size), seed=2)
    key = graph.outputs[0].name
    want_sim, got_sim = Simulator(graph), Simulator(qgraph)
    worst = 0.0
    for i in range(len(x)):
        want = want_sim.run({"input": x[i:i + 1]})[key].astype(np.float64)
        got = got_sim.run({"input": x[i:i + 1]})[key].astype(np.float64)
        worst = max(worst, float(np.abs(want - got).max() / np.abs(want).max()))
    print(f"{name}: max |int8 - float| / max |float| = {worst:.4f}")
    assert worst < bound, worst


def _quantization_warnings(text: str) -> list[str]:
    from n2d2c.ir import parse_graph
    graph = parse_graph(text)
    x = np.random.default_rng(0).standard_normal((8, 1, 4, 4)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantize_graph(graph, {"x": x}, nbbits=8)
    return [str(w.message) for w in caught if issubclass(w.category, QuantizationWarning)]


def test_a_float_op_on_the_graph_input_is_named_as_such_not_as_an_island():
    # A bilinear up-sampling of the raw input (the MobileNetV3 digits fixture has one):
    # it runs before the first quantize, at the graph's edge.
    messages = _quantization_warnings("""graph @g(%x: tensor<1x1x4x4xf32>) {
  %u = resize(%x) {sizes = [1, 1, 8, 8], scales = [1.0, 1.0, 2.0, 2.0], mode = "linear"} : tensor<1x1x8x8xf32>
  %w = constant dense<[0.5, -0.25]> : tensor<2x1x1x1xf32>
  %y = conv2d(%u, %w) : tensor<1x2x8x8xf32>
  return %y
}""")
    assert messages == ["1 op(s) run in float on the graph's inputs, before they are "
                        "quantized: u (resize)"]


def test_a_float_op_between_integer_ops_is_still_an_island():
    messages = _quantization_warnings("""graph @g(%x: tensor<1x1x4x4xf32>) {
  %w = constant dense<[0.5, -0.25]> : tensor<2x1x1x1xf32>
  %c = conv2d(%x, %w) : tensor<1x2x4x4xf32>
  %e = div(%c, %c) : tensor<1x2x4x4xf32>
  %v = constant dense<[0.5, 1.0]> : tensor<1x2x1x1xf32>
  %y = conv2d(%e, %v) : tensor<1x1x4x4xf32>
  return %y
}""")
    assert len(messages) == 1 and "stay float between dequantize and quantize: e (div)" \
        in messages[0]
