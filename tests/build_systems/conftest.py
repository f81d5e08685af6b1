from __future__ import annotations

import onnx
import pytest

from n2d2c.examples.lenet import lenet


@pytest.fixture(scope="module")
def lenet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "lenet.onnx"
    onnx.save(lenet(), path)
    return path
