"""The fused-activation attributes come from one mixin and print after the op's own."""

import dataclasses
import math

import pytest

from n2d2c.ir import Graph, TensorType, ops, parse_graph, print_graph
from n2d2c.ir.ops import FusedActivation

ACTIVATION_FIELDS = ["activation", "activation_min", "activation_max", "activation_alpha"]


@pytest.mark.parametrize("cls", [ops.Conv2d, ops.ConvTranspose2d, ops.Gemm, ops.Add])
def test_the_four_fields_come_last(cls):
    assert issubclass(cls, FusedActivation)
    assert [f.name for f in dataclasses.fields(cls)][-4:] == ACTIVATION_FIELDS


def test_a_subclass_keeps_the_fields_where_they_were():
    @dataclasses.dataclass(eq=False, kw_only=True)
    class Wider(ops.Gemm):
        extra: int = 0

    names = [f.name for f in dataclasses.fields(Wider)]
    assert names[-5:] == ACTIVATION_FIELDS + ["extra"]


@pytest.mark.parametrize("attrs, expected", [
    ({}, (-math.inf, math.inf)),
    ({"activation": "relu"}, (0.0, math.inf)),
    ({"activation": "clip", "activation_min": 0.0, "activation_max": 6.0}, (0.0, 6.0)),
    ({"activation": "leaky_relu", "activation_alpha": 0.2}, (-math.inf, math.inf)),
])
def test_activation_range(attrs, expected):
    op = ops.Add(**attrs)
    assert op.activation_range() == expected
    assert op.has_activation == bool(attrs)


def test_printed_after_the_other_attributes():
    g = Graph()
    a = g.add_input("a", TensorType((2, 3)))
    b = g.add_input("b", TensorType((4, 3)))
    y = g.add(ops.Gemm(trans_b=True, activation="clip", activation_max=6.0, name="fc"), [a, b])
    g.outputs = [y.output]
    text = print_graph(g)
    assert '{trans_b = true, activation = "clip", activation_max = 6.0}' in text
    assert print_graph(parse_graph(text)) == text
