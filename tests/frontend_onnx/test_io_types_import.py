"""Graph inputs and outputs that are not float32 (frontend/onnx/io_types.py): float16 cast at
the boundaries, integer/bool tensors only where the ops take them, clear errors otherwise."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T, helper, numpy_helper

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.errors import N2D2CError, UnsupportedError
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

from .harness import roundtrip_text, run_ort


def _model(nodes, inputs, outputs, inits=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "io", [helper.make_tensor_value_info(n, t, s)
                                            for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
                              list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("elem,name", [(T.DOUBLE, "DOUBLE"), (T.UINT32, "UINT32"),
                                       (T.BFLOAT16, "BFLOAT16"), (T.STRING, "STRING")])
def test_refused_input_types_name_the_input_and_type(elem, name):
    model = _model([helper.make_node("Identity", ["x"], ["y"])], [("x", elem, [2])],
                   [("y", elem, [2])])
    with pytest.raises(UnsupportedError, match=f"graph input 'x' has element type {name}; "
                                               "n2d2c takes float32, float16"):
        load_onnx(model)


def test_float64_says_why():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [("x", T.DOUBLE, [2])],
                   [("y", T.DOUBLE, [2])])
    with pytest.raises(UnsupportedError) as info:
        load_onnx(model)
    assert "does not take float64 models" in info.value.message
    assert "float32" in (info.value.hint or "")


def test_refused_output_type_names_the_output():
    model = _model([helper.make_node("Cast", ["x"], ["y"], to=T.UINT16)], [("x", T.FLOAT, [2])],
                   [("y", T.UINT16, [2])])
    with pytest.raises(UnsupportedError, match="uint16"):
        load_onnx(model)


@pytest.mark.parametrize("elem,dtype", [(T.INT8, "int8"), (T.INT64, "int64"), (T.BOOL, "bool")])
def test_integer_input_at_a_float_op_is_refused_by_name(elem, dtype):
    w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")
    model = _model([helper.make_node("Conv", ["x", "w"], ["y"])], [("x", elem, [1, 1, 2, 2])],
                   [("y", T.FLOAT, [1, 1, 2, 2])], [w])
    with pytest.raises(UnsupportedError, match=f"input 'x' has element type {dtype} at run time; "
                                               "n2d2c computes Conv on float32 tensors only"):
        load_onnx(model)


def test_float16_graph_io_is_cast_at_the_boundaries():
    model = _model([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])],
                   [("x", T.FLOAT16, [3])], [("y", T.FLOAT16, [3]), ("r", T.FLOAT16, [3])])
    graph = load_onnx(model)
    assert [v.type.dtype for v in (*graph.inputs, *graph.outputs)] == [DType.F16] * 3
    assert [v.name for v in (*graph.inputs, *graph.outputs)] == ["x", "y", "r"]
    assert [op.OP_NAME for op in graph.ops] == ["cast", "relu", "neg", "cast", "cast"]
    feeds = {"x": np.array([-1.5, 0.333, 60000], np.float32).astype(np.float16)}
    got = simulate(graph, feeds)
    for have, want in zip(got.values(), run_ort(model, feeds)):
        assert have.dtype == np.float16
        np.testing.assert_array_equal(have, want)


def test_cast_to_float16_inside_keeps_its_rounding():
    model = _model([helper.make_node("Cast", ["x"], ["h"], to=T.FLOAT16),
                    helper.make_node("Cast", ["h"], ["f"], to=T.FLOAT),
                    helper.make_node("Mul", ["f", "f"], ["y"])],
                   [("x", T.FLOAT, [4])], [("y", T.FLOAT, [4])])
    feeds = {"x": np.array([0.1, 1 / 3, 1e-6, 300.7], np.float32)}
    got = simulate(load_onnx(model), feeds)["y"]
    np.testing.assert_array_equal(got, run_ort(model, feeds)[0])
    assert not np.array_equal(got, feeds["x"] * feeds["x"])  # rounded to float16 first


def test_float16_initializers_become_exact_float32_constants():
    c = np.array([0.1, 65504, 6e-8], np.float16)
    model = _model([helper.make_node("Add", ["x", "c"], ["y"])], [("x", T.FLOAT16, [3])],
                   [("y", T.FLOAT16, [3])], [numpy_helper.from_array(c, "c")])
    graph = load_onnx(model)
    const = [graph.constant_value(op.output) for op in graph.ops if op.OP_NAME == "constant"][0]
    assert const.dtype == np.float32
    np.testing.assert_array_equal(const, c.astype(np.float32))


def test_integer_and_bool_io_through_data_movement_and_logic():
    model = _model([helper.make_node("Transpose", ["i"], ["t"], perm=[1, 0]),
                    helper.make_node("Concat", ["t", "t"], ["y"], axis=0),
                    helper.make_node("Not", ["b"], ["nb"])],
                   [("i", T.INT8, [2, 3]), ("b", T.BOOL, [4])],
                   [("y", T.INT8, [6, 2]), ("nb", T.BOOL, [4])])
    graph = load_onnx(model)
    feeds = {"i": np.arange(-3, 3, dtype=np.int8).reshape(2, 3),
             "b": np.array([True, False, False, True])}
    for have, want in zip(simulate(graph, feeds).values(), run_ort(model, feeds)):
        assert have.dtype == want.dtype
        np.testing.assert_array_equal(have, want)


def test_c_backend_refuses_float16_arithmetic(tmp_path):
    """Only the frontend's casts may touch float16 in C: an f16 add built by hand is an
    n2d2c error naming the op, not generated code computing on bit patterns."""
    graph = Graph("half")
    x = graph.add_input("x", TensorType((4,), DType.F16))
    graph.outputs = [graph.add(ops.Add(name="add"), [x, x]).output]
    with pytest.raises(UnsupportedError, match="'add'.*float16 only at the API and in casts"):
        compile_to_dir(graph, tmp_path / "out", target="c")
    assert not (tmp_path / "out").exists()


def test_errors_are_n2d2c_errors_not_tracebacks():
    # An output declared float32 that n2d2c computes as bool is refused by name.
    model = _model([helper.make_node("Not", ["b"], ["y"])], [("b", T.BOOL, [2])],
                   [("y", T.FLOAT, [2])])
    with pytest.raises(N2D2CError) as info:
        load_onnx(model)
    assert "graph output 'y' is declared FLOAT" in info.value.message


def test_api_run_takes_and_returns_float16(tmp_path):
    from n2d2c.api import run
    model = _model([helper.make_node("Sigmoid", ["x"], ["y"])], [("x", T.FLOAT16, [2, 3])],
                   [("y", T.FLOAT16, [2, 3])])
    path = tmp_path / "half.onnx"
    onnx.save(model, path)
    x = np.linspace(-3, 3, 6, dtype=np.float16).reshape(2, 3)
    y = run(str(path), {"x": x})["y"]
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, run_ort(model, {"x": x})[0])


def test_float16_and_integer_io_graphs_print_and_parse_back():
    from fixtures.io_types import float16_convnet, index_mask_net
    for model in (float16_convnet(), index_mask_net()):
        roundtrip_text(load_onnx(model))
