"""The IR lookup in the quantized ONNX forms: a Gather of its integer table, so the
exact integer-operator form matches the simulator bit for bit."""

from __future__ import annotations

import pytest

from n2d2c.backends.onnx import export_model
from n2d2c.ir import ops as O
from quantization.test_lookup import ACTIVATIONS, quantized_network

from .helpers import FORMS, lsb_differences, observe_integers


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_lookup_exports_as_gather(name):
    _, qgraph, _, data = quantized_network(name)
    observed = observe_integers(qgraph)
    (lookup,) = qgraph.ops_of(O.Lookup)
    assert lookup.output in observed
    feeds = [{"input": sample[None]} for sample in data[:3]]
    for fmt, requant in FORMS:
        model = export_model(qgraph, onnx_format=fmt, qop_requant=requant)
        assert "Gather" in [n.op_type for n in model.graph.node]
        worst = lsb_differences(qgraph, observed, feeds, onnx_format=fmt, qop_requant=requant)
        if (fmt, requant) == ("qop", "exact"):
            assert max(worst.values()) == 0, worst
        else:
            # The table's operand may be one step off (a rounding requantization); the
            # table itself indexes the same entries.
            assert worst[lookup.inputs[0].name] <= 1, worst
