"""The simulator driver: input checking, errors, profiling, devices, whole graphs."""

from dataclasses import dataclass

import numpy as np
import pytest
from onnx import helper

from n2d2c.errors import InputError, ShapeError, UnsupportedError, UsageError
from n2d2c.ir import DType, Graph, Operation, TensorType, ops
from n2d2c.runtime import ProfileEntry, Simulator, find_kernel, kernel, registered, simulate

from ._harness import rand, run_onnxruntime


def small_cnn() -> Graph:
    g = Graph("small_cnn")
    x = g.add_input("image", TensorType((1, 3, 12, 12)))
    w1 = g.constant(rand(8, 3, 3, 3, seed=1), "conv1.w")
    b1 = g.constant(rand(8, seed=2), "conv1.b")
    h = g.add(ops.Conv2d(pads=(1, 1, 1, 1), name="conv1"), [x, w1, b1]).output
    h = g.add(ops.Relu(name="relu1"), [h]).output
    h = g.add(ops.MaxPool2d(kernel=(2, 2), strides=(2, 2), name="pool1"), [h]).output
    h = g.add(ops.Reshape(shape=(1, 288), name="flatten"), [h]).output
    w2 = g.constant(rand(10, 288, seed=3), "fc.w")
    b2 = g.constant(rand(10, seed=4), "fc.b")
    logits = g.add(ops.Gemm(trans_b=True, name="fc"), [h, w2, b2]).output
    probs = g.add(ops.Softmax(axis=-1, name="prob"), [logits]).output
    g.outputs = [probs, logits]
    return g


def test_whole_graph_matches_onnxruntime():
    g = small_cnn()
    x = rand(1, 3, 12, 12, seed=9)
    out = simulate(g, {"image": x})
    assert list(out) == ["prob", "fc"]
    # The same network as a multi-node ONNX model.
    consts = {v.name: g.constant_value(v) for op in g.ops for v in op.outputs
              if g.constant_value(v) is not None}
    nodes = [
        helper.make_node("Conv", ["image", "conv1.w", "conv1.b"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["fc"], transB=1),
        helper.make_node("Softmax", ["fc"], ["prob"], axis=-1),
    ]
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, numpy_helper
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, None]) for n in ("prob", "fc")],
        [numpy_helper.from_array(a, n) for n, a in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    want = ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"]).run(None, {"image": x})
    np.testing.assert_allclose(out["prob"], want[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["fc"], want[1], rtol=1e-4, atol=1e-5)


def test_simulator_reuse_and_profile():
    g = small_cnn()
    sim = Simulator(g)
    a = sim.run({"image": rand(1, 3, 12, 12, seed=1)})
    assert a.profile is None
    b = sim.run({"image": rand(1, 3, 12, 12, seed=2)}, profile=True)
    assert not np.allclose(a["fc"], b["fc"])
    assert b.profile is sim.last_profile
    assert [(e.op_name, e.op_type) for e in sim.last_profile] == [
        (op.name, op.OP_NAME) for op in g.ops]
    assert all(isinstance(e, ProfileEntry) and e.seconds >= 0 for e in sim.last_profile)
    again = simulate(g, {"image": rand(1, 3, 12, 12, seed=1)}, profile=True)
    np.testing.assert_array_equal(again["fc"], a["fc"])
    assert len(again.profile) == len(g.ops)


def test_float64_feed_is_cast_and_value_keys_accepted():
    g = small_cnn()
    x = rand(1, 3, 12, 12)
    ref = simulate(g, {"image": x})
    out = simulate(g, {g.inputs[0]: x.astype(np.float64)})
    np.testing.assert_array_equal(out["fc"], ref["fc"])
    assert out["fc"].dtype == np.float32


def test_wrong_shape_names_input_and_types():
    with pytest.raises(ShapeError) as err:
        simulate(small_cnn(), {"image": np.zeros((1, 3, 12, 11), np.float32)})
    text = str(err.value)
    assert "'image'" in text and "tensor<1x3x12x12xf32>" in text and "[1, 3, 12, 11]" in text


def test_wrong_dtype_is_refused():
    with pytest.raises(ShapeError, match=r"'image'.*tensor<1x3x12x12xf32>.*int64"):
        simulate(small_cnn(), {"image": np.zeros((1, 3, 12, 12), np.int64)})


def test_integer_input_range_is_checked():
    g = Graph()
    x = g.add_input("q", TensorType((3,), DType.I8))
    g.outputs = [g.add(ops.Identity(), [x]).output]
    assert simulate(g, {"q": np.array([1, -2, 127])})["identity"].dtype == np.int8
    with pytest.raises(ShapeError, match="'q'"):
        simulate(g, {"q": np.array([1, 2, 300])})
    with pytest.raises(ShapeError, match="'q'"):
        simulate(g, {"q": np.array([1.0, 2.0, 3.0])})


def test_missing_input():
    with pytest.raises(InputError, match=r"missing graph input 'image'.*tensor<1x3x12x12xf32>"):
        simulate(small_cnn(), {})


def test_extra_input():
    with pytest.raises(InputError, match=r"unknown graph input 'img'.*'image'"):
        simulate(small_cnn(), {"image": rand(1, 3, 12, 12), "img": rand(1)})


def test_feeds_must_be_a_mapping():
    with pytest.raises(UsageError):
        simulate(small_cnn(), [rand(1, 3, 12, 12)])


@dataclass(eq=False, kw_only=True)
class _Mystery(Operation):
    OP_NAME = "mystery"

    def infer(self, types):
        return [types[0]]


def test_op_without_kernel_is_unsupported():
    g = Graph()
    x = g.add_input("x", TensorType((2,)))
    g.outputs = [g.add(_Mystery(name="odd_node"), [x]).output]
    with pytest.raises(UnsupportedError, match=r"'mystery'.*'odd_node'"):
        Simulator(g)


def test_float_kernel_is_not_used_for_integers():
    # conv2d has an integer kernel (n2d2c/runtime/kernels/integer); softmax not.
    g = Graph()
    x = g.add_input("x", TensorType((1, 4), DType.I8))
    g.outputs = [g.add(ops.Softmax(axis=1, name="qsoftmax"), [x]).output]
    with pytest.raises(UnsupportedError, match=r"'softmax'.*'qsoftmax'.*i8"):
        Simulator(g)


def test_kernels_are_registered_per_dtype_and_extensible():
    table = registered()
    assert (ops.Conv2d, DType.F32) in table
    assert table[(ops.Conv2d, DType.I8)] is not table[(ops.Conv2d, DType.F32)]
    assert (ops.Softmax, DType.I8) not in table
    assert (ops.Reshape, None) in table

    @kernel(_Mystery, dtypes=(DType.I8,))
    def mystery_i8(op, x):
        return (x * 2).astype(np.int8)

    g = Graph()
    x = g.add_input("x", TensorType((2,), DType.I8))
    g.outputs = [g.add(_Mystery(), [x]).output]
    assert find_kernel(g.ops[0]) is mystery_i8
    np.testing.assert_array_equal(simulate(g, {"x": np.array([1, 2])})["mystery"], [2, 4])


def test_unknown_device():
    with pytest.raises(UsageError, match="tpu"):
        Simulator(small_cnn(), device="tpu")


def test_gpu_device_without_cupy_or_kernels_is_unsupported():
    # Either cupy/CUDA is missing, or there are no GPU kernels yet: both are UnsupportedError.
    with pytest.raises(UnsupportedError):
        simulate(small_cnn(), {"image": rand(1, 3, 12, 12)}, device="gpu")


def test_outputs_never_alias_feeds_or_constants():
    g = Graph()
    x = g.add_input("x", TensorType((2, 2)))
    k = g.constant(np.ones((2, 2), np.float32), "k")
    y = g.add(ops.Identity(), [x]).output
    z = g.add(ops.Reshape(shape=(4,)), [k]).output
    g.outputs = [y, z, x]
    feed = rand(2, 2)
    out = simulate(g, {"x": feed})
    out["identity"][0, 0] = 42.0
    out["reshape"][0] = 42.0
    out["x"][1, 1] = 42.0
    assert feed[0, 0] != 42.0 and feed[1, 1] != 42.0
    assert g.constant_value(k)[0, 0] == 1.0


def test_invalid_graph_is_reported_before_running():
    from n2d2c.errors import VerificationError
    g = Graph()
    x = g.add_input("x", TensorType((2,)))
    g.add(ops.Relu(), [x])
    with pytest.raises(VerificationError):
        Simulator(g)  # no outputs


def test_float16_graph():
    g = Graph()
    x = g.add_input("x", TensorType((1, 2, 4, 4), DType.F16))
    w = g.constant(rand(3, 2, 3, 3).astype(np.float16), "w")
    y = g.add(ops.Conv2d(pads=(1, 1, 1, 1)), [x, w]).output
    g.outputs = [g.add(ops.Sigmoid(), [y]).output]
    xv = rand(1, 2, 4, 4)
    out = simulate(g, {"x": xv})["sigmoid"]
    assert out.dtype == np.float16
    want = run_onnxruntime(
        helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]),
        {"x": xv.astype(np.float16).astype(np.float32)},
        {"w": g.constant_value(w).astype(np.float32)}, [(np.float32, 4)])[0]
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-want)), rtol=2e-3, atol=2e-3)


CORE_OPS = ["add", "avg_pool2d", "batch_norm", "clip", "concat", "constant", "conv2d",
            "conv_transpose2d", "div", "dropout", "gemm", "global_avg_pool", "global_max_pool",
            "hard_sigmoid", "hard_swish", "identity", "leaky_relu", "log_softmax", "lrn", "matmul",
            "max", "max_pool2d", "min", "mul", "pad", "prelu", "reduce_mean", "relu", "reshape",
            "resize", "sigmoid", "slice", "softmax", "split", "sub", "tanh", "transpose"]


@pytest.mark.parametrize("name", CORE_OPS)
def test_every_core_op_has_f32_and_f16_kernels(name):
    from n2d2c.ir.ops import OPS
    table = registered()
    cls = OPS[name]
    for dt in (DType.F32, DType.F16):
        assert (cls, dt) in table or (cls, None) in table, (name, dt)
