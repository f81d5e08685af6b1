"""Whole networks: import, verify, textual-IR round trip, and onnxruntime agreement."""

from __future__ import annotations

import pytest

from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import verify

from .harness import check_outputs, random_feeds, roundtrip_text, run_ort
from .zoo import MODELS, light_model, light_models


@pytest.mark.parametrize("opset", [9, 13, 17])
@pytest.mark.parametrize("name", list(MODELS))
def test_zoo_model(name, opset):
    model = MODELS[name](opset=opset)
    graph = load_onnx(model)
    verify(graph)
    roundtrip_text(graph)
    feeds = random_feeds(graph)
    problem = check_outputs(graph, feeds, run_ort(model, feeds))
    assert problem is None, problem


@pytest.mark.parametrize("name,shape", [("resnet", (3, 3, 16, 16)),
                                        ("mobilenet", (2, 3, 32, 32))])
def test_symbolic_batch_from_input_shapes(name, shape):
    """A user-given batch flows through the run-time shape chain (Shape/Gather/Concat)."""
    model = MODELS[name]()
    input_name = model.graph.input[0].name
    graph = load_onnx(model, input_shapes={input_name: shape})
    assert graph.inputs[0].shape == shape
    assert graph.outputs[0].shape == (shape[0], 10)
    feeds = random_feeds(graph)
    assert check_outputs(graph, feeds, run_ort(model, feeds)) is None


def test_shipped_model_zoo_is_there():
    """onnx ships 9 model-zoo graphs (weights as ConstantOfShape fills)."""
    assert {"bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
            "shufflenet", "squeezenet", "vgg19", "zfnet512"} <= set(light_models())


@pytest.mark.parametrize("name", light_models())
def test_shipped_model_imports(name):
    model = light_model(name)
    graph = load_onnx(model)
    verify(graph)
    # The weights (listed as graph inputs, IR 3 style) became constants.
    assert [v.shape for v in graph.inputs] == [(1, 3, 224, 224)]
    convs = sum(n.op_type == "Conv" for n in model.graph.node)
    assert len([op for op in graph.ops if op.OP_NAME == "conv2d"]) == convs
    weights = sum(op.value.nbytes for op in graph.ops if op.OP_NAME == "constant")
    if weights < 150e6:  # alexnet, vgg19, zfnet512 would spend seconds writing an .npz
        roundtrip_text(graph)


# Simulating the bigger ones (vgg19: 20 GFLOP) would dominate the test time.
@pytest.mark.parametrize("name", ["squeezenet", "shufflenet", "densenet121", "inception_v1"])
def test_shipped_model_matches_onnxruntime(name):
    model = light_model(name, randomize=True)
    graph = load_onnx(model)
    feeds = random_feeds(graph)
    problem = check_outputs(graph, feeds, run_ort(model, feeds))
    assert problem is None, problem
