"""The textual IR round-trips exactly and reports malformed text with file:line:col."""

import numpy as np
import pytest

from n2d2c.errors import ParseError, VerificationError
from n2d2c.ir import DType, Graph, Layout, TensorType, ops, parse_graph, print_graph, verify


def sample_graph() -> Graph:
    g = Graph("sample")
    x = g.add_input("x", TensorType((1, 3, 8, 8)))
    rng = np.random.default_rng(0)
    w = g.constant(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv1.w")
    b = g.constant(np.array([0.1, -2.5e-8, np.inf, 3], np.float32), "conv1.b")
    c = g.add(ops.Conv2d(pads=(1, 1, 1, 1), name="conv1"), [x, w, b]).output
    r = g.add(ops.Clip(min=0.0, max=6.0, name="relu6 with space"), [c]).output
    s = g.add(ops.Split(axis=1, sizes=(1, 3), name="split"), [r])
    cat = g.add(ops.Concat(axis=1, name="cat"), [s.outputs[1], s.outputs[0]]).output
    pool = g.add(ops.AvgPool2d(kernel=(2, 2), strides=(2, 2), count_include_pad=True), [cat]).output
    flat = g.add(ops.Reshape(shape=(1, 64)), [pool]).output
    idx = g.constant(np.arange(6, dtype=np.int64).reshape(2, 3), "int_const")
    g.outputs = [flat, idx]
    return g


def test_print_parse_print_is_identical_with_side_resources():
    g = sample_graph()
    verify(g)
    resources = {}
    text = print_graph(g, resources=resources)
    assert 'dense_resource<"conv1.w">' in text and "conv1.w" in resources
    again = print_graph(parse_graph(text, resources=resources), resources={})
    assert again == text


def test_inline_constants_round_trip_bit_exact():
    g = sample_graph()
    text = print_graph(g, inline_limit=None)
    g2 = parse_graph(text)
    assert print_graph(g2, inline_limit=None) == text
    w1 = g.constant_value(g.find_op("conv1.w").output)
    w2 = g2.constant_value(g2.find_op("conv1.w").output)
    assert w1.tobytes() == w2.tobytes()


def test_defaults_are_omitted_and_names_quoted():
    text = print_graph(sample_graph())
    conv_line = next(line for line in text.splitlines() if "conv2d(" in line)
    assert "strides" not in conv_line  # default (1, 1) is not printed
    assert '%"relu6 with space" = clip(%conv1) {min = 0.0, max = 6.0}' in text
    assert "b = constant dense<[0.1, -2.5e-08, inf, 3.0]>" in text


def test_types_print_layout_and_dtype():
    assert str(TensorType((1, 8, 8, 3), DType.I8, Layout.NHWC)) == "tensor<1x8x8x3xi8, nhwc>"
    assert str(TensorType((), DType.F32)) == "tensor<f32>"
    g = parse_graph("graph @g(%x: tensor<1x8x8x3xi8, nhwc>) {\n  return %x\n}\n")
    assert g.inputs[0].type == TensorType((1, 8, 8, 3), DType.I8, Layout.NHWC)


@pytest.mark.parametrize("text, message, line", [
    ("graph @g(%x: tensor<1xf32>) {\n  %y = frobnicate(%x) : tensor<1xf32>\n  return %y\n}",
     "unknown op 'frobnicate'", 2),
    ("graph @g(%x: tensor<1xf32>) {\n  %y = relu(%z) : tensor<1xf32>\n  return %y\n}",
     "use of undefined value %z", 2),
    ("graph @g(%x: tensor<1xf32>) {\n  %y = leaky_relu(%x) {beta = 1.0} : tensor<1xf32>\n"
     "  return %y\n}", "has no attribute 'beta'", 2),
    ("graph @g(%x: tensor<1xf32>) {\n  %y = leaky_relu(%x) {alpha = \"a\"} : tensor<1xf32>\n"
     "  return %y\n}", "expected a number", 2),
    ("graph @g(%x: tensor<1xq7>) {\n  return %x\n}", "malformed type", 1),
    ("graph @g(%x: tensor<1xf32>) {\n  %y = relu(%x) : tensor<1xf32>\n  retrn %y\n}",
     "unexpected input", 3),
    ("graph @g(%x: tensor<1xf32>) {\n  %c = constant dense<[1.0, 2.0]> : tensor<3xf32>\n"
     "  return %c\n}", "has 2 elements", 2),
    ("graph @g(%x: tensor<1xf32>) {\n  %x = relu(%x) : tensor<1xf32>\n  return %x\n}",
     "defined twice", 2),
])
def test_parse_errors_have_locations(text, message, line):
    with pytest.raises(ParseError) as info:
        parse_graph(text, filename="t.ir")
    assert message in str(info.value)
    assert str(info.value).startswith(f"t.ir:{line}:")


def test_wrong_result_type_is_caught_by_verifier():
    g = parse_graph("graph @g(%x: tensor<1x4xf32>) {\n"
                    "  %y = relu(%x) : tensor<1x5xf32>\n  return %y\n}")
    with pytest.raises(VerificationError, match=r"'y' \(relu\).*disagree"):
        verify(g)
