"""Import behaviour: input shapes, names, constant folding, static inputs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.errors import InputError, ShapeError, UnsupportedError, UsageError
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import DType

from .harness import check_outputs, random_feeds, roundtrip_text, run_ort


def _model(nodes, inputs, outputs, inits=(), opset=17, functions=()):
    graph = helper.make_graph(nodes, "m", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                    helper.make_opsetid("local", 1)],
                              functions=list(functions))
    onnx.checker.check_model(model)
    return model


def _f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _relu_model(shape):
    return _model([helper.make_node("Relu", ["x"], ["y"])], [_f32("x", shape)],
                  [_f32("y", shape)])


# -- input shapes ----------------------------------------------------------------------
def test_symbolic_batch_defaults_to_one():
    graph = load_onnx(_relu_model(["batch", 3, 8, 8]))
    assert graph.inputs[0].shape == (1, 3, 8, 8)
    assert graph.outputs[0].shape == (1, 3, 8, 8)


def test_unknown_inner_dims_ask_for_input_shape():
    with pytest.raises(ShapeError) as info:
        load_onnx(_relu_model(["N", 3, "height", "width"]))
    text = str(info.value)
    assert "'x'" in text and "axis 2, 3" in text
    assert "--input-shape x=1x3xNxN" in text


def test_input_shapes_fill_unknown_dims():
    graph = load_onnx(_relu_model(["N", 3, "h", "w"]), input_shapes={"x": (2, 3, 5, 7)})
    assert graph.inputs[0].shape == (2, 3, 5, 7)


def test_input_shapes_errors():
    model = _relu_model(["N", 3, 8, 8])
    with pytest.raises(UsageError, match="'z', which is not a model input; the inputs are: x"):
        load_onnx(model, input_shapes={"z": (1, 3, 8, 8)})
    with pytest.raises(ShapeError, match="rank 3"):
        load_onnx(model, input_shapes={"x": (1, 3, 8)})
    with pytest.raises(ShapeError, match="fixes it to"):
        load_onnx(model, input_shapes={"x": (1, 4, 8, 8)})


def test_shapeless_input_is_refused_by_the_checker():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "m", [x],
                              [_f32("y", [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(InputError, match="shape"):
        load_onnx(model)


# -- names ---------------------------------------------------------------------------------
def test_node_and_tensor_names():
    nodes = [helper.make_node("Relu", ["in put"], ["hidden:0"], name="first relu"),
             helper.make_node("Sigmoid", ["hidden:0"], ["a"]),
             helper.make_node("Sigmoid", ["a"], ["out"])]
    graph = load_onnx(_model(nodes, [_f32("in put", [2])], [_f32("out", [2])]))
    assert [op.name for op in graph.ops] == ["first relu", "Sigmoid_0", "Sigmoid_1"]
    assert [op.output.name for op in graph.ops] == ["hidden:0", "a", "out"]
    assert graph.inputs[0].name == "in put" and graph.outputs[0].name == "out"
    roundtrip_text(graph)  # names that need quoting survive the textual IR


def test_helper_values_never_steal_onnx_names():
    """A 1-D conv makes helper values; a later ONNX tensor named like one keeps its name."""
    w = _const("w", np.ones((2, 1, 3), np.float32))
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["conv"], name="r"),
             helper.make_node("Relu", ["conv"], ["conv.in"], name="r2")]
    graph = load_onnx(_model(nodes, [_f32("x", [1, 1, 8])], [_f32("conv.in", [1, 2, 6])], [w]))
    assert graph.outputs[0].name == "conv.in"
    assert graph.find_op("r").output.name == "conv"


def test_variadic_sum_is_a_chain_named_after_the_node():
    nodes = [helper.make_node("Sum", ["a", "b", "c"], ["s"], name="total")]
    graph = load_onnx(_model(nodes, [_f32(n, [3]) for n in "abc"], [_f32("s", [3])]))
    assert [(op.OP_NAME, op.name) for op in graph.ops] == [("add", "total.1"), ("add", "total")]
    assert graph.outputs[0].name == "s"


# -- constants and folding -------------------------------------------------------------------
def test_shape_subgraph_is_folded():
    """Flatten written the exporter way: Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
    plus a Cast and arithmetic; nothing of it is left at run time."""
    nodes = [helper.make_node("Shape", ["x"], ["shape"]),
             helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
             helper.make_node("Cast", ["n"], ["n32"], to=TensorProto.INT32),
             helper.make_node("Cast", ["n32"], ["n64"], to=TensorProto.INT64),
             helper.make_node("Slice", ["shape", "one", "four"], ["chw"]),
             helper.make_node("ReduceProd", ["chw"], ["size"], keepdims=1),
             helper.make_node("Mul", ["size", "one"], ["size1"]),
             helper.make_node("Unsqueeze", ["n64", "axes"], ["n1"]),
             helper.make_node("Concat", ["n1", "size1"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"], name="flatten")]
    inits = [_const("zero", np.int64(0)), _const("one", [1]), _const("four", [4]),
             _const("axes", [0])]
    model = _model(nodes, [_f32("x", ["N", 2, 3, 4])], [_f32("y", ["N", 24])], inits)
    graph = load_onnx(model)
    assert [op.OP_NAME for op in graph.ops] == ["reshape"]
    assert graph.ops[0].shape == (1, 24) and graph.ops[0].name == "flatten"
    feeds = random_feeds(graph)
    assert check_outputs(graph, feeds, run_ort(model, feeds)) is None


def test_constant_nodes_and_weight_arithmetic_fold():
    nodes = [helper.make_node("Constant", [], ["k"], value_float=2.0),
             helper.make_node("Mul", ["w", "k"], ["w2"]),
             helper.make_node("Transpose", ["w2"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["x", "wt"], ["y"])]
    w = np.arange(6, dtype=np.float32).reshape(3, 2)
    graph = load_onnx(_model(nodes, [_f32("x", [1, 2])], [_f32("y", [1, 3])],
                             [_const("w", w)]))
    constants = [op for op in graph.ops if op.OP_NAME == "constant"]
    assert len(constants) == 1 and constants[0].output.name == "wt"
    np.testing.assert_array_equal(constants[0].value, (w * 2).T)


def test_initializer_listed_as_input_is_a_constant():
    model = _model([helper.make_node("Add", ["x", "b"], ["y"])],
                   [_f32("x", [2]), _f32("b", [2])], [_f32("y", [2])],
                   [_const("b", np.ones(2, np.float32))])
    graph = load_onnx(model)
    assert [v.name for v in graph.inputs] == ["x"]


def test_runtime_value_in_a_shape_input_names_the_nodes():
    nodes = [helper.make_node("Relu", ["s"], ["r"], name="producer"),
             helper.make_node("Reshape", ["x", "r"], ["y"], name="consumer")]
    model = _model(nodes, [_f32("x", [2, 3]), _f32("s", [2])], [_f32("y", [3, 2])])
    with pytest.raises(UnsupportedError) as info:
        load_onnx(model)
    message = info.value.message
    assert "'consumer' (Reshape)" in message and "'producer' (Relu)" in message
    assert "compile time" in message


def test_runtime_scales_input_is_refused():
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up")
    model = _model([node], [_f32("x", [1, 1, 2, 2]), _f32("scales", [4])],
                   [_f32("y", [1, 1, 4, 4])])
    with pytest.raises(UnsupportedError, match="'up' \\(Resize\\).*run-time graph input"):
        load_onnx(model)


def test_constant_only_op_on_runtime_data():
    node = helper.make_node("Mod", ["x", "i"], ["y"], name="pick", fmod=1)
    model = _model([node], [_f32("x", [2, 3])], [_f32("y", [2, 3])],
                   [_const("i", np.float32(2))])
    with pytest.raises(UnsupportedError, match="'pick' \\(Mod\\): Mod is only supported"):
        load_onnx(model)


def test_dropout_mask_is_all_true_at_inference():
    drop = helper.make_node("Dropout", ["x"], ["y", "mask"], name="drop")
    graph = load_onnx(_model([drop], [_f32("x", [2])], [_f32("y", [2])]))
    assert [op.OP_NAME for op in graph.ops] == ["dropout"]
    use = helper.make_node("Not", ["mask"], ["m2"])
    graph = load_onnx(_model([drop, use], [_f32("x", [2])],
                             [_f32("y", [2]), helper.make_tensor_value_info("m2", 9, [2])]))
    m2 = graph.outputs[1]
    assert m2.type.dtype is DType.BOOL
    np.testing.assert_array_equal(graph.constant_value(m2), [False, False])


def test_output_that_is_an_input_or_a_constant():
    nodes = [helper.make_node("Constant", [], ["c"], value=_const("v", np.ones(2, np.float32)))]
    graph = load_onnx(_model(nodes, [_f32("x", [2])], [_f32("x", [2]), _f32("c", [2])]))
    assert graph.outputs[0] is graph.inputs[0]
    assert graph.outputs[1].producer.OP_NAME == "constant"
    assert graph.outputs[1].type.dtype is DType.F32


def test_local_functions_are_inlined():
    body = [helper.make_node("Relu", ["a"], ["r"]), helper.make_node("Neg", ["r"], ["b"])]
    function = helper.make_function("local", "ReluNeg", ["a"], ["b"], body,
                                    [helper.make_opsetid("", 17)])
    node = helper.make_node("ReluNeg", ["x"], ["y"], domain="local")
    model = _model([node], [_f32("x", [3])], [_f32("y", [3])], functions=[function])
    graph = load_onnx(model)
    assert [op.OP_NAME for op in graph.ops] == ["relu", "neg"]
