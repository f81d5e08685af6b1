"""Files n2d2c must refuse with the right error class and a useful sentence."""

from __future__ import annotations

import os
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.errors import InputError, ResourceLimitError, UnsupportedError
from n2d2c.frontend.onnx import SUPPORTED_OPS, describe_unsupported, load_onnx

from .single_node import C, X, rand, single_node_model
from .zoo import lenet


def _write(path, model):
    onnx.save_model(model, str(path))
    return path


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.onnx' does not exist"):
        load_onnx(tmp_path / "nope.onnx")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        load_onnx(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty.onnx' is empty"):
        load_onnx(path)


@pytest.mark.parametrize("content", [b"hello, this is not a model\n",
                                     b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
                                     b"\x08\x07\x12\x04abcd"])  # valid protobuf, no graph
def test_not_an_onnx_file(tmp_path, content):
    path = tmp_path / "picture.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError, match="picture.onnx") as info:
        load_onnx(path)
    assert "ONNX" in info.value.message


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, fraction):
    data = lenet().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(InputError, match="cut.onnx"):
        load_onnx(path)


def test_invalid_model_is_refused_by_the_checker(tmp_path):
    node = helper.make_node("Relu", ["missing"], ["y"])
    graph = helper.make_graph([node], "bad", [helper.make_tensor_value_info("x", 1, [2])],
                              [helper.make_tensor_value_info("y", 1, [2])])
    path = tmp_path / "bad.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(InputError, match="bad.onnx' is not a valid ONNX model"):
        load_onnx(path)


def _model_with_unsupported_ops():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Hardmax", ["x"], ["a"], name="hardmax_a"),
             helper.make_node("Relu", ["a"], ["b"], name="relu"),
             helper.make_node("Hardmax", ["b"], ["c"]),  # unnamed: reported as Hardmax_0
             helper.make_node("Elu", ["c"], ["d"], name="elu"),
             helper.make_node("FusedThing", ["d"], ["y"], name="custom", domain="com.example")]
    graph = helper.make_graph(nodes, "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("com.example", 1)])


def test_unsupported_ops_are_listed_in_one_error(tmp_path):
    path = _write(tmp_path / "odd.onnx", _model_with_unsupported_ops())
    with pytest.raises(UnsupportedError) as info:
        load_onnx(path)
    err = info.value
    text = str(err)
    assert "odd.onnx" in text
    assert "3 unsupported ONNX ops" in err.message
    assert "Hardmax (nodes 'hardmax_a', 'Hardmax_0')" in err.message
    assert "Elu (node 'elu')" in err.message
    assert "com.example.FusedThing (node 'custom')" in err.message
    # ... and the supported ones, sorted, in the hint.
    listed = text.split("supported ops: ")[1].split(";")[0].split(", ")
    assert listed == sorted(listed) and "Conv" in listed and "Hardmax" not in listed
    assert "Traceback" not in text


def test_describe_unsupported():
    found = describe_unsupported(_model_with_unsupported_ops())
    assert found == [("Hardmax", "hardmax_a"), ("Hardmax", "Hardmax_0"), ("Elu", "elu"),
                     ("com.example.FusedThing", "custom")]
    assert describe_unsupported(lenet()) == []


def test_supported_ops_cover_the_required_set():
    required = """Conv ConvTranspose Gemm MatMul Add Sub Mul Div Relu LeakyRelu PRelu Clip
        Sigmoid Tanh HardSigmoid HardSwish Softmax LogSoftmax MaxPool AveragePool
        GlobalAveragePool GlobalMaxPool BatchNormalization LRN Concat Flatten Reshape
        Transpose Squeeze Unsqueeze Slice Split Pad Resize Upsample ReduceMean Sum Max Min
        Dropout Identity Constant Shape Gather Cast""".split()
    assert set(required) <= set(SUPPORTED_OPS)
    assert SUPPORTED_OPS == sorted(SUPPORTED_OPS)


@pytest.mark.parametrize("op,opset,inputs,attrs,n_out,needle", [
    ("Resize", 19, [X(rand(1, 1, 4, 4)), "", C(np.array([1, 1, 2, 2], np.float32))],
     dict(mode="cubic"), 1, "mode 'cubic'"),
    ("Resize", 19, [X(rand(1, 1, 4, 4)), C(np.array([0, 0, 1, 1, 1, 1, 1, 1], np.float32)),
                    C(np.array([1, 1, 2, 2], np.float32))],
     dict(coordinate_transformation_mode="tf_crop_and_resize"), 1, "tf_crop_and_resize"),
    ("Conv", 13, [X(rand(1, 2, 4, 4, 4)), C(rand(3, 2, 2, 2, 2))], {}, 1, "3-D convolution"),
    ("MaxPool", 13, [X(rand(1, 2, 4, 4, 4))], dict(kernel_shape=[2, 2, 2]), 2, "3-D pooling"),
    ("Pad", 19, [X(rand(2, 3)), C(np.array([1, 1, 1, 1], np.int64))], dict(mode="wrap"), 1,
     "mode 'wrap'"),
    ("BatchNormalization", 15, [X(rand(2, 3, 2)), *[C(np.ones(3, np.float32))] * 4],
     dict(training_mode=1), 3, "training_mode"),
])
def test_unhandled_attributes_name_the_node(op, opset, inputs, attrs, n_out, needle):
    model, _ = single_node_model(op, opset, inputs, n_out, **attrs)
    with pytest.raises(UnsupportedError) as info:
        load_onnx(model)
    assert f"'{op.lower()}_node' ({op})" in info.value.message
    assert needle in info.value.message


def test_non_float_activations_are_unsupported():
    model, _ = single_node_model("Relu", 14, [X(np.ones((2, 2), np.float64))])
    with pytest.raises(UnsupportedError, match="element type DOUBLE"):
        load_onnx(model)


def test_opset_below_6_is_unsupported():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "old",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 5)])
    with pytest.raises(UnsupportedError, match="opset 5"):
        load_onnx(model)


# -- external data -----------------------------------------------------------------------
def _external_model(folder, location="weights.bin"):
    """lenet with every initializer in one external file."""
    model = lenet()
    original = onnx.ModelProto()
    original.CopyFrom(model)  # save_model moves the data out of ``model`` itself
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=location, size_threshold=0)
    return original, folder / "model.onnx"


def _set_location(path, location):
    """Rewrite where every external tensor of the model at ``path`` says its data is."""
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    path.write_bytes(model.SerializeToString())


def test_external_data_loads(tmp_path):
    original, path = _external_model(tmp_path)
    assert os.path.getsize(path) < 10_000  # the weights really are outside
    graph = load_onnx(path)
    direct = load_onnx(original)
    weights = {op.name: op.value for op in graph.ops if op.OP_NAME == "constant"}
    for op in direct.ops:
        if op.OP_NAME == "constant":
            np.testing.assert_array_equal(weights[op.name], op.value)


def test_external_data_in_a_subfolder(tmp_path):
    (tmp_path / "data").mkdir()
    _, path = _external_model(tmp_path)
    os.replace(tmp_path / "weights.bin", tmp_path / "data" / "weights.bin")
    _set_location(path, "data/weights.bin")
    load_onnx(path)


@pytest.mark.parametrize("location,needle", [
    ("../weights.bin", "climbs out"),
    ("sub/../../weights.bin", "climbs out"),
    ("..\\weights.bin", "climbs out"),
    ("/etc/passwd", "absolute path"),
    ("C:\\weights.bin", "absolute path"),
    ("missing.bin", "does not exist"),
    ("", "empty file name"),
])
def test_external_data_bad_locations(tmp_path, location, needle):
    folder = tmp_path / "model"
    folder.mkdir()
    _, path = _external_model(folder)
    _set_location(path, location)
    with pytest.raises(InputError, match=needle) as info:
        load_onnx(path)
    assert "model.onnx" in str(info.value)


def test_external_data_symlink_escaping_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "model"
    folder.mkdir()
    _, path = _external_model(folder)
    os.replace(folder / "weights.bin", outside / "weights.bin")
    os.symlink(outside / "weights.bin", folder / "weights.bin")
    with pytest.raises(InputError, match="outside the model's folder") as info:
        load_onnx(path)
    assert "--allow-dir" in str(info.value)
    # Explicitly allowing the target folder makes the same model load.
    load_onnx(path, allow_dirs=[outside])


def test_external_data_declared_larger_than_file_fails_fast(tmp_path):
    """A 400 GB tensor declared over a tiny file is refused before any read."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[100_000, 100_000, 10])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "w.bin"), ("offset", "0")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "huge", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "w.bin").write_bytes(b"\0" * 64)
    path = tmp_path / "huge.onnx"
    path.write_bytes(model.SerializeToString())
    start = time.perf_counter()
    with pytest.raises(InputError, match="which has only 64 bytes"):
        load_onnx(path)
    assert time.perf_counter() - start < 2


def test_external_data_length_must_match_shape(tmp_path):
    _, path = _external_model(tmp_path)
    model = onnx.load(str(path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "length":
            entry.value = str(int(entry.value) + 4)
    path.write_bytes(model.SerializeToString())
    with pytest.raises(InputError, match="declares .* bytes of external data"):
        load_onnx(path)


def test_constant_size_limit(tmp_path):
    _, path = _external_model(tmp_path)
    with pytest.raises(ResourceLimitError, match="--max-constant-bytes"):
        load_onnx(path, max_constant_bytes=1000)


def test_in_memory_model_with_external_references(tmp_path):
    _, path = _external_model(tmp_path)
    model = onnx.load(str(path), load_external_data=False)
    with pytest.raises(InputError, match="load the model from its file path"):
        load_onnx(model)


def test_huge_folded_constant_is_refused_before_allocation():
    shape = numpy_helper.from_array(np.array([10**6, 10**6, 10**3], np.int64), "shape")
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"], name="fill"),
             helper.make_node("Add", ["x", "big"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1])],
                              [helper.make_tensor_value_info("y", 1, [1])], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ResourceLimitError, match="'fill' \\(ConstantOfShape\\)"):
        load_onnx(model)


def _model_with_refusals_of_every_kind():
    """An unknown op, two constant-only ops on run-time data, and a constant-only op
    that only reads a refused node's result (a consequence: not reported)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nodes = [helper.make_node("Mod", ["x", "two"], ["m1"], name="mod_first", fmod=1),
             helper.make_node("Hardmax", ["m1"], ["h"], name="hardmax"),
             helper.make_node("Mod", ["h", "two"], ["m2"], name="mod_after_refused", fmod=1),
             helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Mod", ["r", "two"], ["m3"], name="mod_second", fmod=1),
             helper.make_node("Sum", ["m2", "m3"], ["y"], name="sum")]
    graph = helper.make_graph(nodes, "g", [x], [y], [two])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_every_refusal_in_one_error(tmp_path):
    with pytest.raises(UnsupportedError) as info:
        load_onnx(_write(tmp_path / "mixed.onnx", _model_with_refusals_of_every_kind()))
    message = info.value.message
    assert "1 unsupported ONNX op: Hardmax (node 'hardmax')" in message
    assert "also 2 nodes refused" in message
    assert "'mod_first' (Mod): Mod is only supported on compile-time constants" in message
    assert "'mod_second' (Mod)" in message and "'r' is computed at run time" in message
    assert "mod_after_refused" not in message and "'sum'" not in message
    assert "supported ops: " in info.value.hint


def test_several_constant_only_refusals_without_unknown_ops():
    model = _model_with_refusals_of_every_kind()
    model.graph.node[1].op_type = "Relu"  # no unknown op: the Mods are all that is left
    with pytest.raises(UnsupportedError) as info:
        load_onnx(model)
    message = info.value.message
    assert "has 2 nodes n2d2c cannot import: 'mod_first' (Mod)" in message
    assert "'mod_second' (Mod)" in message
    assert "mod_after_refused" not in message  # it reads a refused node's result
