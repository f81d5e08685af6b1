"""Symbolic input dimensions bound from the data the user gives (run --input,
--calib-data, evaluate --data), unnamed --input-shape, and INI sizes from the CLI."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import n2d2c
from n2d2c.cli import main
from n2d2c.errors import ShapeError, UsageError
from n2d2c.frontend.binding import DataShape


def _conv_net(path, dims=("batch", 3, "h", "w")):
    """Conv + ReLU + global pool + Flatten: any spatial size, 4 classes."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["y"])]
    graph = helper.make_graph(nodes, "sym", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, list(dims))], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, ["batch", 4])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _two_inputs(path):
    """y = a + b with a: [n, seq], b: [n, seq] (the symbols are shared)."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "pair",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", "seq"]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", "seq"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "seq"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _ort(path, feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("shape", [(1, 3, 20, 24), (2, 3, 9, 31)])
def test_run_binds_symbolic_dims_from_the_npy(tmp_path, capsys, shape):
    model = _conv_net(tmp_path / "m.onnx")
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(model), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "y.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), _ort(model, {"x": x})[0],
                               rtol=1e-5, atol=1e-6)


def test_python_run_binds_from_the_array(tmp_path):
    model = _conv_net(tmp_path / "m.onnx")
    x = np.random.default_rng(2).standard_normal((1, 3, 7, 5)).astype(np.float32)
    out = n2d2c.run(model, x)["y"]
    np.testing.assert_allclose(out, _ort(model, {"x": x})[0], rtol=1e-5, atol=1e-6)


def test_shared_symbols_bind_consistently(tmp_path):
    model = _two_inputs(tmp_path / "pair.onnx")
    a = np.ones((1, 5), np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b6.npy", np.ones((1, 6), np.float32))
    # b gets no data: its 'seq' comes from a's.
    graph = n2d2c.load(model, data_shapes={"a": DataShape((1, 5), "a.npy")})
    assert [v.shape for v in graph.inputs] == [(1, 5), (1, 5)]
    with pytest.raises(ShapeError, match="'seq' is 5 for input 'a'.* but 6 for input 'b'"):
        n2d2c.load(model, data_shapes={"a": DataShape((1, 5), "a.npy"),
                                       "b": DataShape((1, 6), "b6.npy")})


def test_mismatch_on_the_cli_is_one_clear_error(tmp_path, capsys):
    model = _two_inputs(tmp_path / "pair.onnx")
    np.save(tmp_path / "a.npy", np.ones((1, 5), np.float32))
    np.save(tmp_path / "b.npy", np.ones((1, 6), np.float32))
    rc = main(["run", str(model), "--input", f"a={tmp_path / 'a.npy'}",
               "--input", f"b={tmp_path / 'b.npy'}"])
    err = capsys.readouterr().err
    assert rc == ShapeError.exit_code
    assert "symbolic dimension 'seq' is 5" in err and "b.npy" in err and "Traceback" not in err
    # Positional inputs bind in order; a rank that cannot be the input's is refused.
    np.save(tmp_path / "r3.npy", np.ones((1, 5, 1), np.float32))
    rc = main(["run", str(model), "--input", str(tmp_path / "a.npy"),
               "--input", str(tmp_path / "r3.npy")])
    assert rc == ShapeError.exit_code
    assert "input 'b' from" in capsys.readouterr().err


def test_unnamed_input_shape(tmp_path, capsys):
    model = _conv_net(tmp_path / "m.onnx")
    assert main(["info", str(model), "--input-shape", "1x3x48x192"]) == 0
    assert "1x3x48x192" in capsys.readouterr().out
    rc = main(["info", str(_two_inputs(tmp_path / "pair.onnx")), "--input-shape", "1x5"])
    err = capsys.readouterr().err
    assert rc == UsageError.exit_code and "one-input model" in err and "a, b" in err
    # Without data or shape, the hint says both ways.
    rc = main(["info", str(model)])
    err = capsys.readouterr().err
    assert rc == ShapeError.exit_code and "--input x=x.npy" in err and "--input-shape" in err


def test_calibration_and_evaluation_data_bind_the_sample_shape(tmp_path, capsys):
    model = _conv_net(tmp_path / "m.onnx")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3, 12, 10)).astype(np.float32)
    y = _ort(model, {"x": x})[0].argmax(axis=1)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    assert main(["evaluate", str(model), "--data", str(tmp_path / "data.npz")]) == 0
    assert "100.00%" in capsys.readouterr().out  # labels are the float model's own
    out = tmp_path / "q.ir"
    assert main(["quantize", str(model), "--calib-data", str(tmp_path / "data.npz"),
                 "-o", str(out)]) == 0
    assert "1x3x12x10" in out.read_text()
    # The sample count is not the batch: the graph input stays batch 1.
    assert "tensor<1x3x12x10xf32>" in out.read_text()


INI_WITHOUT_SP = """\
[conv1]
Input=sp
Type=Conv
KernelDims=3 3
NbOutputs=4
ActivationFunction=Rectifier
[fc]
Input=conv1
Type=Fc
NbOutputs=3
ActivationFunction=Linear
"""


def test_ini_without_stimuli_takes_its_size_from_the_cli(tmp_path, capsys):
    ini = tmp_path / "net.ini"
    ini.write_text(INI_WITHOUT_SP)
    rc = main(["info", str(ini)])
    err = capsys.readouterr().err
    assert rc != 0 and "--input-shape NxCxHxW" in err
    assert main(["info", str(ini), "--input-shape", "1x2x9x7"]) == 0
    assert "1x2x9x7" in capsys.readouterr().out
    np.save(tmp_path / "x.npy", np.ones((1, 2, 6, 5), np.float32))
    assert main(["run", str(ini), "--input", str(tmp_path / "x.npy")]) == 0
    assert "[1, 3]" in capsys.readouterr().out
    rc = main(["info", str(ini), "--input-shape", "9x7"])
    assert rc == UsageError.exit_code and "NxCxHxW" in capsys.readouterr().err
