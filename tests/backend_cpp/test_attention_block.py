"""A ViT-style encoder block (tests/fixtures/attention.py) end to end, at opset 12
(LayerNorm decomposed) and 17 (LayerNormalization), against onnxruntime: through the
simulator, through ``n2d2c run``, and compiled to C++ and run.  The batch dimension is
symbolic and bound from the data's shape."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.attention import OPSETS, attention_block, attention_inputs
from n2d2c.cli import main
from n2d2c.frontend.binding import DataShape
from n2d2c.frontend.onnx import load_onnx
from n2d2c.runtime import simulate

from .harness import Case, assert_close, build_batches, require_compiler, run_ort, shared

RTOL, ATOL = 1e-4, 1e-4
BATCHES = (1, 3)


def _case(opset: int, batch: int) -> Case:
    """The symbolic batch is bound from the feed's shape, as ``n2d2c run`` does."""
    model = attention_block(opset)
    feeds = attention_inputs(batch)
    case = Case(f"vit_opset{opset}_batch{batch}", model, feeds, RTOL, ATOL)
    case.graph = load_onnx(model, data_shapes={"x": DataShape(feeds["x"].shape, "the feed")})
    return case


CASES = [(opset, batch) for opset in OPSETS for batch in BATCHES]
IDS = [f"opset{o}-batch{b}" for o, b in CASES]


@pytest.mark.parametrize("opset,batch", CASES, ids=IDS)
def test_simulator_matches_onnxruntime(opset, batch):
    case = _case(opset, batch)
    got = list(simulate(case.graph, case.feeds).values())
    assert_close(case, got, run_ort(case.model, case.feeds))


@pytest.fixture(scope="module")
def cpp_outputs(tmp_path_factory):
    require_compiler()
    cases = [_case(opset, batch) for opset, batch in CASES]
    return shared(tmp_path_factory, "attention_block",
                  lambda root: build_batches(root, {"vit": cases}))


@pytest.mark.parametrize("opset,batch", CASES, ids=IDS)
def test_cpp_matches_onnxruntime(cpp_outputs, opset, batch):
    model = attention_block(opset)
    feeds = attention_inputs(batch)
    case = Case(f"vit_opset{opset}_batch{batch}", model, feeds, RTOL, ATOL)
    assert_close(case, cpp_outputs[case.name], run_ort(model, feeds))


def test_gathered_class_token_is_row_zero():
    """The block's second output is its first token (a run-time Gather on axis 1)."""
    case = _case(17, 3)
    got = simulate(case.graph, case.feeds)
    np.testing.assert_array_equal(got["cls_out"], got["y"][:, 0])


def test_cli_run_binds_the_batch_from_the_npy(tmp_path, capsys):
    import onnx
    onnx.save(attention_block(12), tmp_path / "vit.onnx")
    feeds = attention_inputs(3)
    np.save(tmp_path / "x.npy", feeds["x"])
    assert main(["run", str(tmp_path / "vit.onnx"), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "out.npz")]) == 0
    capsys.readouterr()
    got = np.load(tmp_path / "out.npz")
    ref = run_ort(attention_block(12), feeds)
    np.testing.assert_allclose(got["y"], ref[0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got["cls_out"], ref[1], rtol=RTOL, atol=ATOL)
