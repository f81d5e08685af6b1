"""Quantized graphs in the QDQ and integer-operator forms against the integer simulator.

``qop`` with ``qop_requant=exact`` spells quant.py's arithmetic with integer ONNX ops
and must agree bit for bit.  ``qdq`` and ``qop_requant=qlinear`` requantize with
QuantizeLinear / QLinear* (float32, round half to even): each requantization may be
one step off where the exact value is (or is near) a tie, see the README the backend
writes.  Integer tensors carry their IR names in every form, so the comparisons read
the integers themselves, before the final dequantize.
"""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.onnx import export_model
from n2d2c.ir import ops as O
from n2d2c.quantization import calibrate_data
from n2d2c.runtime import Simulator

from .helpers import (FORMS, RESCALING, Builder, digits_data, digits_graph, final_integers,
                      lsb_differences, mobilenet_like, observe_integers, quantize,
                      random_images, run_onnx, session)

FORM_IDS = [f"{fmt}-{requant}" for fmt, requant in FORMS]


def allowed_lsb(form) -> int:
    return 0 if form == ("qop", "exact") else 1


# -- the trained digits CNN, the whole test set in one batch --------------------------------
@pytest.fixture(scope="module")
def digits():
    x, y, calib = digits_data()
    stats = calibrate_data(digits_graph(), calib)
    return digits_graph(batch=len(x)), stats, x, y


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("mode", RESCALING)
def test_digits_every_rescaling_mode(digits, mode, form):
    graph, stats, x, y = digits
    qgraph = quantize(graph, stats, act_rescaling_mode=mode)
    logits = final_integers(qgraph)
    assert len(logits) == 1
    qgraph.outputs = list(qgraph.outputs) + logits
    want = Simulator(qgraph).run({"input": x})
    got = run_onnx(export_model(qgraph, onnx_format=form[0], qop_requant=form[1]), {"input": x})
    name = logits[0].name
    diff = np.abs(got[name].astype(np.int64) - want[name].astype(np.int64))
    assert diff.max() <= allowed_lsb(form), (mode, form, int(diff.max()))
    out = qgraph.outputs[0].name
    accuracy_sim = float(np.mean(want[out].argmax(axis=1) == y))
    accuracy_onnx = float(np.mean(got[out].argmax(axis=1) == y))
    assert abs(accuracy_onnx - accuracy_sim) <= 0.01, (accuracy_onnx, accuracy_sim)
    assert accuracy_sim > 0.95


@pytest.mark.parametrize("options", [{"wt_per_channel": True, "act_rescaling_mode": "Double-shift"},
                                     {"nbbits": 16}, {"wt_nbbits": 16},
                                     {"no_unsigned": True, "act_rescaling_mode": "Fixed-point32"},
                                     {"nbbits": 4, "wt_per_channel": True}],
                         ids=["per-channel", "16-bit", "16-bit-weights", "signed", "4-bit"])
@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_digits_other_options(digits, form, options):
    graph, stats, x, y = digits
    qgraph = quantize(graph, stats, **options)
    observed = observe_integers(qgraph)
    worst = lsb_differences(qgraph, observed, [{"input": x}], onnx_format=form[0],
                            qop_requant=form[1])
    assert max(worst[v.name] for v in final_integers(qgraph)) <= allowed_lsb(form), worst
    if form == ("qop", "exact"):
        assert set(worst.values()) == {0}


# -- a MobileNetV2-like network (depthwise, residual adds, ReLU6), per-channel weights -------
@pytest.fixture(scope="module")
def mobilenet():
    graph = mobilenet_like(size=16)
    stats = calibrate_data(graph, random_images(32, (3, 16, 16), seed=1))
    feeds = [{"input": x[None]} for x in random_images(12, (3, 16, 16), seed=2)]
    return graph, stats, feeds


@pytest.mark.parametrize("mode", RESCALING)
def test_mobilenet_exact_form_is_bit_exact(mobilenet, mode):
    graph, stats, feeds = mobilenet
    qgraph = quantize(graph, stats, act_rescaling_mode=mode, wt_per_channel=True)
    assert qgraph.ops_of(O.Add) and any(op.group > 1 for op in qgraph.ops_of(O.Conv2d))
    observed = observe_integers(qgraph)
    worst = lsb_differences(qgraph, observed, feeds, onnx_format="qop", qop_requant="exact")
    assert set(worst.values()) == {0}, {k: v for k, v in worst.items() if v}


@pytest.mark.parametrize("form", [("qdq", "exact"), ("qop", "qlinear")], ids=["qdq", "qlinear"])
@pytest.mark.parametrize("mode", ["Floating-point", "Fixed-point16", "Fixed-point32"])
def test_mobilenet_rounding_forms_within_one_step(mobilenet, mode, form):
    graph, stats, feeds = mobilenet
    qgraph = quantize(graph, stats, act_rescaling_mode=mode, wt_per_channel=True)
    logits = final_integers(qgraph)
    worst = lsb_differences(qgraph, logits, feeds, onnx_format=form[0], qop_requant=form[1])
    assert max(worst.values()) <= 1, worst


@pytest.mark.parametrize("form", [("qdq", "exact"), ("qop", "qlinear")], ids=["qdq", "qlinear"])
@pytest.mark.parametrize("mode", ["Single-shift", "Double-shift"])
def test_mobilenet_shift_modes_drift(mobilenet, mode, form):
    """Shift modes round exact ties up; QuantizeLinear / QLinear* round them to even.
    The residual adds here rescale by 1/2 (a shift of 1), where half of all sums are
    ties, so a signed result is one step off for a quarter of its elements; the
    layers after it amplify that (a one-step input error moves a 1x1 conv's output
    by several steps).  Each requantization is within one step (see the per-op tests);
    end to end this network drifts by a few steps and keeps its top-1 answers."""
    graph, stats, feeds = mobilenet
    qgraph = quantize(graph, stats, act_rescaling_mode=mode, wt_per_channel=True)
    logits = final_integers(qgraph)[0]
    qgraph.outputs = list(qgraph.outputs) + [logits]
    sim = Simulator(qgraph)
    sess = session(export_model(qgraph, onnx_format=form[0], qop_requant=form[1]))
    names = [o.name for o in sess.get_outputs()]
    diffs, agree = [], 0
    for feed in feeds:
        got = dict(zip(names, sess.run(None, feed)))[logits.name].astype(np.int64)
        want = sim.run(feed)[logits.name].astype(np.int64)
        diffs.append(np.abs(got - want))
        agree += int(got.argmax() == want.argmax())
    diffs = np.concatenate(diffs)
    assert agree == len(feeds)
    assert diffs.mean() <= 2.5 and diffs.max() <= 12, (diffs.mean(), diffs.max())


# -- one small model per integer op kind -------------------------------------------------
def _conv_relu(b, x, cout, name, **kw):
    return b.relu(b.conv(x, cout, name=name, **kw), f"{name}.relu")


def model_conv():
    b = Builder("conv")
    return b.output(_conv_relu(b, b.input("input", (1, 3, 8, 8)), 8, "conv"))


def model_depthwise():
    b = Builder("depthwise")
    x = b.input("input", (1, 8, 8, 8))
    return b.output(_conv_relu(b, x, 8, "dw", group=8, stride=2))


def model_gemm():
    b = Builder("gemm")
    return b.output(b.gemm(b.input("input", (1, 32)), 10, "fc"))


def model_gemm_no_bias():
    b = Builder("gemm_no_bias")
    return b.output(b.relu(b.gemm(b.input("input", (1, 32)), 10, "fc", bias=False), "relu"))


def model_matmul():
    b = Builder("matmul")
    a, c = b.input("input", (1, 6, 8)), b.input("other", (1, 8, 5))
    return b.output(b.op(O.MatMul(), [a, c], "matmul"))


def model_matmul_weights():
    b = Builder("matmul_weights")
    x = b.input("input", (4, 8))
    w = b.const(b.rng.standard_normal((8, 6)) * 0.4, "w")
    return b.output(b.op(O.MatMul(), [x, w], "matmul"))


def model_add():
    b = Builder("add")
    x = b.input("input", (1, 4, 6, 6))
    y = b.input("other", (1, 4, 6, 6))
    return b.output(b.relu(b.op(O.Add(), [x, y], "add"), "add.relu"))


def model_max_pool():
    b = Builder("max_pool")
    x = _conv_relu(b, b.input("input", (1, 3, 9, 9)), 4, "conv")
    return b.output(b.op(O.MaxPool2d(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)), [x],
                         "pool"))


def model_avg_pool():
    b = Builder("avg_pool")
    x = _conv_relu(b, b.input("input", (1, 3, 9, 9)), 4, "conv")
    return b.output(b.op(O.AvgPool2d(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)), [x],
                         "pool"))


def model_avg_pool_ceil():
    b = Builder("avg_pool_ceil")
    x = b.conv(b.input("input", (1, 3, 8, 8)), 4, name="conv")
    return b.output(b.op(O.AvgPool2d(kernel=(2, 2), strides=(2, 2), pads=(0, 0, 1, 1),
                                     ceil_mode=True, count_include_pad=True), [x], "pool"))


def model_global_avg_pool():
    b = Builder("global_avg_pool")
    x = b.conv(b.input("input", (1, 3, 6, 6)), 8, name="conv")
    return b.output(b.op(O.GlobalAvgPool(), [x], "gap"))


def model_concat():
    b = Builder("concat")
    x = b.input("input", (1, 3, 8, 8))
    left, right = _conv_relu(b, x, 4, "left"), _conv_relu(b, x, 6, "right", k=1)
    return b.output(b.op(O.Concat(axis=1), [left, right], "concat"))


def model_flatten():
    b = Builder("flatten")
    x = _conv_relu(b, b.input("input", (1, 3, 6, 6)), 4, "conv")
    return b.output(b.op(O.Reshape(shape=(1, 144)), [x], "flatten"))


OP_MODELS = {f.__name__[6:]: f for f in (
    model_conv, model_depthwise, model_gemm, model_gemm_no_bias, model_matmul,
    model_matmul_weights, model_add, model_max_pool, model_avg_pool, model_avg_pool_ceil,
    model_global_avg_pool, model_concat, model_flatten)}


def _feeds(graph, n, seed):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        feed = {}
        for v in graph.inputs:
            x = rng.uniform(-1, 1, v.type.shape)
            x.reshape(-1)[:2] = (1.0, -1.0)  # both inputs of the add share one range
            feed[v.name] = x.astype(np.float32)
        samples.append(feed)
    return samples


@pytest.mark.parametrize("per_channel", [False, True], ids=["per-tensor", "per-channel"])
@pytest.mark.parametrize("mode", RESCALING)
@pytest.mark.parametrize("name", sorted(OP_MODELS))
def test_integer_op(name, mode, per_channel):
    graph = OP_MODELS[name]()
    stats = calibrate_data(graph, _feeds(graph, 16, seed=1))
    qgraph = quantize(graph, stats, act_rescaling_mode=mode, wt_per_channel=per_channel)
    kinds = {type(op) for op in qgraph.ops if any(v.type.dtype.is_integer for v in op.inputs)}
    assert kinds - {O.Rescale, O.Dequantize}, "the op under test runs in float"
    observed = observe_integers(qgraph)
    feeds = _feeds(graph, 6, seed=2)
    for form in FORMS:
        worst = lsb_differences(qgraph, observed, feeds, onnx_format=form[0],
                                qop_requant=form[1])
        assert max(worst.values()) <= allowed_lsb(form), (form, worst)


# -- what the forms contain --------------------------------------------------------------
def _op_types(model):
    return [n.op_type for n in model.graph.node]


@pytest.fixture(scope="module")
def per_channel_digits(digits):
    graph, stats, x, y = digits
    return quantize(digits_graph(), stats, act_rescaling_mode="Single-shift",
                    wt_per_channel=True)


def test_qdq_structure(per_channel_digits):
    from onnx import TensorProto, numpy_helper
    model = export_model(per_channel_digits, onnx_format="qdq")
    types = _op_types(model)
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm", "MaxPool"} <= set(types)
    assert not {"ConvInteger", "QLinearConv", "MatMulInteger"} & set(types)
    inits = {i.name: i for i in model.graph.initializer}
    weights = [inits[n.input[0]] for n in model.graph.node
               if n.op_type == "DequantizeLinear" and n.input[0] in inits]
    assert {w.data_type for w in weights} == {TensorProto.INT8, TensorProto.INT32}
    per_axis = [n for n in model.graph.node if n.op_type == "DequantizeLinear"
                and any(a.name == "axis" for a in n.attribute)]
    assert len(per_axis) == 6  # the weights and biases of conv1, conv2, fc
    scales = numpy_helper.to_array(inits[per_axis[0].input[1]])
    assert scales.shape == (8,) and len(set(scales.tolist())) > 1
    # integer tensors keep the IR value names
    names = {o for n in model.graph.node for o in n.output}
    assert {"input.q", "/Relu_output_0", "/Relu_1_output_0"} <= names


def test_qop_structure(per_channel_digits):
    exact = _op_types(export_model(per_channel_digits, onnx_format="qop"))
    assert {"ConvInteger", "MatMulInteger", "Mod", "Div"} <= set(exact)
    assert not {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm"} & set(exact)
    qlinear = _op_types(export_model(per_channel_digits, onnx_format="qop",
                                     qop_requant="qlinear"))
    assert qlinear.count("QLinearConv") == 2
    assert {"QuantizeLinear", "DequantizeLinear", "MatMulInteger"} <= set(qlinear)


def test_qlinear_add_and_matmul():
    graph = model_add()
    stats = calibrate_data(graph, _feeds(graph, 8, seed=1))
    qgraph = quantize(graph, stats, act_rescaling_mode="Floating-point", no_unsigned=True)
    model = export_model(qgraph, onnx_format="qop", qop_requant="qlinear")
    assert "QLinearAdd" in _op_types(model)
    assert any(o.domain == "com.microsoft" for o in model.opset_import)
    graph = model_matmul()
    stats = calibrate_data(graph, _feeds(graph, 8, seed=1))
    qgraph = quantize(graph, stats, act_rescaling_mode="Floating-point")
    assert "QLinearMatMul" in _op_types(export_model(qgraph, onnx_format="qop",
                                                     qop_requant="qlinear"))
