"""The quantized ONNX export of the integer Mul (squeeze-excite gate), Sub and nearest
Resize: a MobileNetV3-style net exports in both forms (qop bit-exact with the simulator);
the integer ops without an ONNX mapping yet (linear resize, transposed convolution) are
refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import onnxruntime as ort
import pytest

from n2d2c.backends.onnx import export_model
from n2d2c.errors import UnsupportedError
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import ops as O
from n2d2c.quantization import quantize_graph
from n2d2c.runtime import Simulator


def _quantized(model, size=32):
    x = np.random.default_rng(0).uniform(0, 1, (4, 3, size, size)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qgraph, _ = quantize_graph(load_onnx(model), x, nbbits=8)
    return qgraph, x[:1]


@pytest.mark.parametrize("form", ["qdq", "qop"])
def test_squeeze_excite_mul_exports(form):
    qgraph, x = _quantized(zoo.mobilenet_v3_like(size=32))
    assert qgraph.ops_of(O.Mul)
    want = Simulator(qgraph).run({"input": x})[qgraph.outputs[0].name]
    session = ort.InferenceSession(export_model(qgraph, onnx_format=form).SerializeToString())
    got = session.run(None, {"input": x})[0]
    if form == "qop":
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    else:  # float ops between Q/DQ pairs: a requantization may be one step off
        np.testing.assert_allclose(got, want, rtol=0, atol=0.02)


def test_linear_resize_is_refused_by_name():
    qgraph, _ = _quantized(zoo.dbnet_like(size=32, inner=16))
    with pytest.raises(UnsupportedError, match="resize4"):
        export_model(qgraph, onnx_format="qop")
