"""Model-zoo graphs shipped with the onnx package (random weights instead of their
constant fills) through the C++ backend, compared with onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from frontend_onnx.zoo import light_model, light_models

from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.frontend.onnx import load_onnx

from .harness import ATOL, RTOL, require_compiler, run_ort

# The 224x224 zoo graphs whose generated code builds in seconds; the others
# (alexnet, vgg19, resnet50, ... with 25M-140M weights) take minutes of g++ each.
SMALL = ["squeezenet", "shufflenet"]


@pytest.mark.parametrize("name", SMALL)
def test_shipped_zoo_model_compiles_and_matches_onnxruntime(name, tmp_path):
    require_compiler()
    assert name in light_models()
    model = light_model(name, randomize=True, seed=1)
    graph = load_onnx(model)
    x = np.random.default_rng(2).standard_normal(graph.inputs[0].shape).astype(np.float32)
    out = compile_to_dir(graph, tmp_path / name, stimuli=1, expected=False)
    build(out, opt="-O1", jobs=2)
    feeds = {graph.inputs[0].name: x}
    got = list(run_inputs(out, feeds).values())
    ref = run_ort(model, feeds)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.reshape(r.shape), r, rtol=RTOL, atol=ATOL)
