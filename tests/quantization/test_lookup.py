"""Element-wise functions of 8-bit integers as 256-entry tables (ir/ops/lookup.py,
quantization/lookup.py): the table is quantize(f(dequantize(q))) for every q, the
quantizer writes it instead of a dequantize/quantize float island, and the result
stays close to the float model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from n2d2c.errors import N2D2CError
from n2d2c.ir import DType, Graph, TensorType, parse_graph, print_graph, verify
from n2d2c.ir import integer
from n2d2c.ir import ops as O
from n2d2c.quantization import QuantizationWarning, quantize_graph
from n2d2c.quantization.levels import make_spec
from n2d2c.quantization.lookup import function_table, lookup_operand
from n2d2c.runtime import simulate

SHAPE = (1, 4, 6, 6)


def _erf(x):
    return np.vectorize(math.erf)(x)


def _softplus(x):
    return np.logaddexp(0.0, x)


# name: (op factory, scalar constant or None, independent float64 formula)
FUNCTIONS = {
    "sigmoid": (lambda: O.Sigmoid(), None, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (lambda: O.Tanh(), None, np.tanh),
    "hard_sigmoid": (lambda: O.HardSigmoid(alpha=0.3, beta=0.4), None,
                     lambda x: np.clip(0.3 * x + 0.4, 0, 1)),
    "hard_swish": (lambda: O.HardSwish(), None, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    "swish": (lambda: O.Swish(alpha=1.5), None, lambda x: x / (1 + np.exp(-1.5 * x))),
    "mish": (lambda: O.Mish(), None, lambda x: x * np.tanh(_softplus(x))),
    "softplus": (lambda: O.Softplus(), None, _softplus),
    "leaky_relu": (lambda: O.LeakyRelu(alpha=0.1), None, lambda x: np.where(x < 0, 0.1 * x, x)),
    "erf": (lambda: O.Erf(), None, _erf),
    "exp": (lambda: O.Exp(), None, np.exp),
    "log": (lambda: O.Log(), None, np.log),
    "sqrt": (lambda: O.Sqrt(), None, np.sqrt),
    "reciprocal": (lambda: O.Reciprocal(), None, lambda x: 1 / x),
    "abs": (lambda: O.Abs(), None, np.abs),
    "neg": (lambda: O.Neg(), None, np.negative),
    "floor": (lambda: O.Floor(), None, np.floor),
    "mul_scalar": (lambda: O.Mul(), 0.7, lambda x: 0.7 * x),
    "pow_scalar": (lambda: O.Pow(), 2.0, lambda x: x * x),
    "prelu_scalar": (lambda: O.PRelu(), 0.25, lambda x: np.where(x < 0, 0.25 * x, x)),
}


def _function_graph(name: str) -> tuple[Graph, O.Operation]:
    make, scalar, _ = FUNCTIONS[name]
    g = Graph(name)
    x = g.add_input("x", TensorType((256,)))
    inputs = [x] if scalar is None else [x, g.constant(np.array([scalar], np.float32), "c")]
    op = g.add(make(), inputs, ["y"])
    g.outputs = [op.output]
    return g, op


@pytest.mark.parametrize("unsigned_in", [False, True], ids=["i8", "u8"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_table_is_the_requantized_function(name, unsigned_in):
    g, op = _function_graph(name)
    assert lookup_operand(g, op) == 0
    x_spec = make_spec(8, unsigned_in, 5.0)
    lo, hi = integer.dtype_bounds(x_spec.dtype)
    levels = np.arange(lo, hi + 1)
    reals = integer.dequantize(levels, x_spec.scale, 0)
    for y_unsigned in (False, True):
        y_spec = make_spec(8, y_unsigned, 3.0)
        table = function_table(g, op, 0, x_spec, y_spec)
        assert table.shape == (256,) and table.dtype == y_spec.dtype.numpy
        # Exactly the float graph on every dequantized level, quantized by the IR's rule.
        with np.errstate(all="ignore"):
            values = simulate(g, {"x": reals})["y"]
        want = integer.quantize(values, y_spec.scale, 0, y_spec.dtype)
        np.testing.assert_array_equal(table, want)
        # And, independently of the simulator's kernel, f in float64 within one level.
        with np.errstate(all="ignore"):
            exact = FUNCTIONS[name][2](reals.astype(np.float64))
        ref = integer.quantize(exact, y_spec.scale, 0, y_spec.dtype).astype(np.int64)
        assert np.abs(table.astype(np.int64) - ref).max() <= 1, name


def test_broadcasting_or_tensor_constants_are_no_tables():
    g = Graph("no_table")
    x = g.add_input("x", TensorType((1, 3, 2, 2)))
    slope = g.constant(np.array([0.1, 0.2, 0.3], np.float32).reshape(3, 1, 1), "slope")
    prelu = g.add(O.PRelu(), [x, slope])
    two = g.add(O.Mul(), [x, x])
    soft = g.add(O.Softmax(axis=1), [x])
    g.outputs = [prelu.output, two.output, soft.output]
    assert [lookup_operand(g, op) for op in (prelu, two, soft)] == [None, None, None]


def test_lookup_shape_rule():
    def graph(x_dtype, table):
        g = Graph("l")
        x = g.add_input("x", TensorType((2, 3), x_dtype))
        t = g.constant(table, "t")
        g.outputs = [g.add(O.Lookup(function="f"), [x, t]).output]
        return g

    g = graph(DType.I8, np.zeros(256, np.uint8))
    verify(g)
    assert g.outputs[0].type == TensorType((2, 3), DType.U8)
    for x_dtype, table, message in ((DType.I16, np.zeros(256, np.int8), "i8 or u8"),
                                    (DType.U8, np.zeros(255, np.int8), "256 entries"),
                                    (DType.I8, np.zeros(256, np.float32), "integers")):
        with pytest.raises(N2D2CError, match=message):
            graph(x_dtype, table)


def _network(activation) -> Graph:
    rng = np.random.default_rng(3)
    g = Graph("lut_net")
    x = g.add_input("input", TensorType((1, 3, 6, 6)))
    w1 = g.constant(rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.5, "c1.w")
    b1 = g.constant(rng.standard_normal(4).astype(np.float32) * 0.2, "c1.b")
    y = g.add(O.Conv2d(pads=(1, 1, 1, 1), name="c1"), [x, w1, b1], ["c1"]).output
    y = g.add(activation, [y], ["act"]).output
    w2 = g.constant(rng.standard_normal((3, 4, 1, 1)).astype(np.float32), "c2.w")
    g.outputs = [g.add(O.Conv2d(name="c2"), [y, w2], ["c2"]).output]
    return g


ACTIVATIONS = {"sigmoid": O.Sigmoid, "hard_swish": O.HardSwish, "tanh": O.Tanh}


def quantized_network(name: str):
    g = _network(ACTIVATIONS[name](name="act"))
    data = np.random.default_rng(4).standard_normal((16, 3, 6, 6)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", QuantizationWarning)   # no float island any more
        qgraph, report = quantize_graph(g, data)
    return g, qgraph, report, data


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_between_convolutions_is_a_table(name):
    g, qgraph, report, data = quantized_network(name)
    text = print_graph(qgraph)
    assert text.count(" = quantize(") == 1 and text.count(" = dequantize(") == 1
    assert text.count(" = lookup(") == 1 and f"{name}(" not in text
    assert report.float_ops == []
    (lookup,) = qgraph.ops_of(O.Lookup)
    assert lookup.function == name
    assert lookup.output.type.dtype is (DType.U8 if name == "sigmoid" else DType.I8)
    # The table is the one computed from the scales the graph really has.
    rescale = lookup.inputs[0].producer
    assert lookup.input_scale == rescale.output_scale
    # The textual IR round-trips, table included.
    full = print_graph(qgraph, inline_limit=None)
    assert print_graph(parse_graph(full), inline_limit=None) == full
    # Close to the float model (8-bit activations, 8-bit weights).
    for sample in data[:4]:
        feeds = {"input": sample[None]}
        want = simulate(g, feeds)["c2"]
        got = simulate(qgraph, feeds)["c2"]
        assert np.abs(got - want).max() < 0.05 * np.abs(want).max()


def test_sixteen_bits_keep_the_float_island():
    g = _network(O.Sigmoid(name="act"))
    data = np.random.default_rng(4).standard_normal((16, 3, 6, 6)).astype(np.float32)
    with pytest.warns(QuantizationWarning, match="act \\(sigmoid\\)"):
        qgraph, _ = quantize_graph(g, data, nbbits=16)
    assert not qgraph.ops_of(O.Lookup) and qgraph.ops_of(O.Sigmoid)
