"""The backend as users reach it: CLI and API, output folder, options, determinism,
clear errors for what ONNX cannot express."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest

import n2d2c
from n2d2c.backends.onnx import export_model
from n2d2c.backends.registry import backend_names, get_backend
from n2d2c.cli import main
from n2d2c.errors import UnsupportedError, UsageError
from n2d2c.examples.lenet import lenet
from n2d2c.ir import Graph, Layout, Operation, TensorType
from n2d2c.ir import ops as O
from n2d2c.quantization import copy_graph
from n2d2c.runtime import simulate

from .helpers import FIXTURES, FORMS, digits_data, digits_graph, quantize, run_onnx


@pytest.fixture(scope="module")
def lenet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "lenet.onnx"
    onnx.save(lenet(), path)
    return path


@pytest.fixture(scope="module")
def quantized_digits():
    _, _, calib = digits_data()
    return quantize(digits_graph(), calib, act_rescaling_mode="Fixed-point16",
                    wt_per_channel=True, sqnr_samples=0)


def test_registered():
    assert "onnx" in backend_names()
    assert get_backend("onnx").name == "onnx"


def test_cli_compile_float(lenet_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compile", str(lenet_path), "--backend", "onnx", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.txt", "model.onnx"]
    model = onnx.load(out / "model.onnx")
    onnx.checker.check_model(model)
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    want = n2d2c.run(str(lenet_path), {"input": x})["output"]
    got = run_onnx(model, {"input": x})["output"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    readme = (out / "README.txt").read_text()
    assert "Form: float" in readme and "model.onnx" in readme


def test_cli_compile_quantizing_pipeline_gives_qdq(tmp_path):
    out = tmp_path / "out"
    calib = FIXTURES / "digits_calib.npz"
    assert main(["compile", str(FIXTURES / "digits_cnn.onnx"), "--backend", "onnx", "-o",
                 str(out), "--passes",
                 f'quantize{{calib-data="{calib}",act-rescaling-mode=Double-shift}}']) == 0
    model = onnx.load(out / "model.onnx")
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in model.graph.node}
    readme = (out / "README.txt").read_text()
    assert "QDQ" in readme and "half to" in readme and "Double-shift" in readme


def test_cli_quantization_flags_and_backend_options(tmp_path):
    out = tmp_path / "out"
    assert main(["compile", str(FIXTURES / "digits_cnn.onnx"), "--backend", "onnx", "-o",
                 str(out), "--calib-data", str(FIXTURES / "digits_calib.npz"),
                 "--wt-per-channel", "-X", "onnx_format=qop", "-X", "qop-requant=qlinear"]) == 0
    types = {n.op_type for n in onnx.load(out / "model.onnx").graph.node}
    assert "QLinearConv" in types
    assert main(["compile", str(FIXTURES / "digits_cnn.onnx"), "--backend", "onnx", "-o",
                 str(out), "-X", "onnx_format=fp8"]) == 2


@pytest.mark.parametrize("fmt,requant", FORMS)
def test_api_compile_forms(quantized_digits, tmp_path, fmt, requant):
    out = n2d2c.compile(quantized_digits, tmp_path / "out", backend="onnx", onnx_format=fmt,
                        qop_requant=requant)
    model = onnx.load(Path(out) / "model.onnx")
    x = digits_data()[0][:1]
    got = run_onnx(model, {"input": x})["output"]
    want = simulate(quantized_digits, {"input": x})["output"]
    assert got.argmax() == want.argmax()
    readme = (Path(out) / "README.txt").read_text()
    assert (f"(onnx_format=qop, qop_requant={requant})" in readme) == (fmt == "qop")
    assert ("Form: QDQ" in readme) == (fmt == "qdq")


@pytest.mark.parametrize("options,message", [
    ({"onnx_fromat": "qdq"}, "unknown option"),
    ({"onnx_format": "qlinear"}, "onnx_format.*unknown value"),
    ({"qop_requant": "round"}, "qop_requant.*unknown value"),
])
def test_bad_options(quantized_digits, tmp_path, options, message):
    with pytest.raises(UsageError, match=message):
        n2d2c.compile(quantized_digits, tmp_path / "out", backend="onnx", **options)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt,requant", FORMS + [("float", "exact")])
def test_deterministic(quantized_digits, tmp_path, fmt, requant):
    graph = digits_graph() if fmt == "float" else quantized_digits
    options = {} if fmt == "float" else {"onnx_format": fmt, "qop_requant": requant}
    first = n2d2c.compile(graph, tmp_path / "a", backend="onnx", **options)
    second = n2d2c.compile(copy_graph(graph), tmp_path / "b", backend="onnx", **options)
    for name in ("model.onnx", "README.txt"):
        assert (Path(first) / name).read_bytes() == (Path(second) / name).read_bytes()
    assert export_model(graph, **options).SerializeToString() == \
        (Path(first) / "model.onnx").read_bytes()


# -- errors ---------------------------------------------------------------------------------
@dataclass(eq=False, kw_only=True)
class Mystery(Operation):
    """An op no backend knows (deliberately not registered)."""

    OP_NAME = "mystery"

    def infer(self, types):
        return [types[0]]


def test_unknown_op_names_op_and_node():
    g = Graph("g")
    x = g.add_input("x", TensorType((1, 4)))
    g.outputs = [g.add(Mystery(name="strange_node"), [x]).output]
    with pytest.raises(UnsupportedError) as info:
        export_model(g)
    text = str(info.value)
    assert "'mystery'" in text and "'strange_node'" in text and "no ONNX mapping" in text
    assert info.value.exit_code == 4


@pytest.mark.parametrize("fmt", ["qdq", "qop"])
def test_integer_op_without_mapping(fmt):
    g = Graph("g")
    x = g.add_input("x", TensorType((1, 4)))
    q = g.add(O.Quantize(scale=0.1, name="q"), [x]).output
    s = g.add(O.Sigmoid(name="int_sigmoid"), [q]).output
    g.outputs = [g.add(O.Dequantize(scale=0.1, name="dq"), [s]).output]
    with pytest.raises(UnsupportedError, match=r"'sigmoid' \(node 'int_sigmoid'\) on integer "
                                               rf"operands has no ONNX mapping in the {fmt}"):
        export_model(g, onnx_format=fmt)


def test_nhwc_values_are_refused():
    g = Graph("g")
    x = g.add_input("x", TensorType((1, 4, 4, 3), layout=Layout.NHWC))
    g.outputs = [g.add(O.Relu(name="r"), [x]).output]
    with pytest.raises(UnsupportedError, match="NCHW"):
        export_model(g)


def test_qdq_needs_scales_it_can_derive():
    """An integer graph input has no derivable scale: QDQ says so, qop exports."""
    g = Graph("g")
    x = g.add_input("x", TensorType((1, 4), dtype=n2d2c.ir.DType.I8))
    g.outputs = [g.add(O.Max(name="m"), [x, x]).output]
    with pytest.raises(UnsupportedError, match="real scale of integer value %x"):
        export_model(g, onnx_format="qdq")
    model = export_model(g, onnx_format="qop")
    data = np.array([[-3, 0, 5, 127]], np.int8)
    np.testing.assert_array_equal(run_onnx(model, {"x": data})["m"], data)


def test_names_and_types_kept(quantized_digits):
    model = export_model(quantized_digits, onnx_format="qop")
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["output"]
    assert model.opset_import[0].version == 21 and model.ir_version == 10
    assert model.producer_name == "n2d2c"
