"""The canonical form lowerings and the quantizer take as given (passes/canonical.py),
and ``Graph.copy`` that it relies on."""

from __future__ import annotations

from n2d2c.backends.c.program import lower_graph
from n2d2c.ir import parse_graph, print_graph, verify
from n2d2c.passes.canonical import canonical_form, canonicalize, is_canonical

RAW = """\
graph @raw(%x: tensor<1x2x3x3xf32>) {
  %w = constant dense<[1.0, -2.0]> : tensor<2x1x1x1xf32>
  %conv = conv2d(%x, %w) {group = 2} : tensor<1x2x3x3xf32>
  %s = constant dense<[2.0, 3.0]> : tensor<2xf32>
  %b = constant dense<[0.5, -1.0]> : tensor<2xf32>
  %m = constant dense<[0.0, 1.0]> : tensor<2xf32>
  %v = constant dense<[1.0, 4.0]> : tensor<2xf32>
  %bn = batch_norm(%conv, %s, %b, %m, %v) : tensor<1x2x3x3xf32>
  %act = relu(%bn) : tensor<1x2x3x3xf32>
  %sig = sigmoid(%act) : tensor<1x2x3x3xf32>
  return %sig
}
"""


def test_raw_graph_is_not_canonical_and_canonical_form_leaves_it_alone():
    graph = parse_graph(RAW)
    assert not is_canonical(graph)
    canonical = canonical_form(graph)
    assert canonical is not graph
    assert print_graph(graph) == print_graph(parse_graph(RAW))  # the original is untouched
    verify(canonical)
    kinds = [op.OP_NAME for op in canonical.ops if op.OP_NAME != "constant"]
    assert kinds == ["conv2d", "sigmoid"]                  # BN folded, ReLU fused
    assert canonical.find_op("conv").activation == "relu"
    assert is_canonical(canonical) and canonical_form(canonical) is canonical


def test_must_not_fire_a_relu_read_twice_stays():
    text = RAW.replace("%sig = sigmoid(%act)", "%sig = add(%act, %bn)")
    graph = parse_graph(text)
    canonicalize(graph)
    assert [op.OP_NAME for op in graph.ops if op.OP_NAME != "constant"] == ["conv2d", "relu",
                                                                           "add"]
    assert is_canonical(graph)


def test_copy_is_independent_and_prints_the_same():
    graph = parse_graph(RAW)
    copy = graph.copy()
    assert print_graph(copy) == print_graph(graph)
    canonicalize(copy)
    assert print_graph(graph) == print_graph(parse_graph(RAW))
    assert graph.find_op("bn") is not None


def test_the_c_lowering_lowers_the_canonical_form():
    program = lower_graph(parse_graph(RAW), "raw")
    ops = [layer.op.OP_NAME for layer in program.layers if layer.op is not None]
    # the BN folded and the ReLU fused by the passes; the sigmoid after a conv that
    # already has an activation stays a layer of its own
    assert ops == ["conv2d", "sigmoid"]
    (conv,) = [c for layer in program.layers for c in layer.calls if c.kernel == "conv2d"]
    assert str(conv.params["act"]) == "relu"
