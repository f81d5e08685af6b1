"""Whole networks from the example zoo, compiled to C++ and compared with onnxruntime.

LeNet-like, ResNet (residual Add), MobileNetV2 (depthwise, inverted residuals,
ReLU6 as Clip, with and without batch norm) and inception-like (Concat), each
ending in a Softmax.  Sizes are reduced so that the builds stay short.
"""

from __future__ import annotations

import pytest

from n2d2c.examples import zoo

from .harness import assert_close, build_batches, model_case, require_compiler, run_ort, shared

MODELS = {
    "lenet": lambda: zoo.lenet(seed=1),
    "resnet18": lambda: zoo.resnet18(size=32, width=16, classes=10, seed=2),
    "mobilenet_v2": lambda: zoo.mobilenet_v2(size=64, width=0.5, classes=10, seed=3),
    "mobilenet_v2_bn": lambda: zoo.mobilenet_v2(size=32, width=0.35, classes=10, seed=4,
                                                batchnorm=True),
    "inception_like": lambda: zoo.inception_like(size=32, classes=10, seed=5),
}
CASES = {name: model_case(name, make()) for name, make in MODELS.items()}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    require_compiler()
    # One network per build (they are large), two builds at a time.
    return shared(tmp_path_factory, "models",
                  lambda root: build_batches(root, {n: [c] for n, c in CASES.items()}))


@pytest.mark.parametrize("name", sorted(CASES))
def test_model_matches_onnxruntime(outputs, name):
    case = CASES[name]
    assert_close(case, outputs[name], run_ort(case.model, case.feeds))
