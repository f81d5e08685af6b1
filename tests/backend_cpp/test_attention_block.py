"""A ViT-style encoder block (tests/fixtures/attention.py) end to end, at opset 12
(LayerNorm decomposed) and 17 (LayerNormalization), against onnxruntime: through the
simulator, and compiled to C++ and run.  The batch dimension is symbolic: it is 1 by
default and set with ``input_shapes`` for the larger batch."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.attention import OPSETS, attention_block, attention_inputs
from n2d2c.frontend.onnx import load_onnx
from n2d2c.frontend.onnx.importer import describe_unsupported
from n2d2c.runtime import simulate
from support import in_ci

from .harness import Case, assert_close, build_batches, require_compiler, run_ort, shared

RTOL, ATOL = 1e-4, 1e-4
BATCHES = (1, 3)
# Added to n2d2c alongside this test (ir/ops/normalization.py, ir/ops/math.py); until they
# are, the block cannot be imported.  No other missing op is excused.
PENDING_OPS = {"LayerNormalization", "Erf", "Pow", "Sqrt"}


def _require_importable(model) -> None:
    missing = {op for op, _ in describe_unsupported(model)}
    run_time_only = {n.op_type for n in model.graph.node} & {"Pow", "Sqrt"}
    try:
        load_onnx(model)
    except Exception as exc:
        pending = (missing | run_time_only) & PENDING_OPS
        if pending and not missing - PENDING_OPS and not in_ci():
            pytest.skip(f"needs {', '.join(sorted(pending))} on run-time tensors, not in n2d2c yet")
        raise


def _case(opset: int, batch: int) -> Case:
    model = attention_block(opset)
    _require_importable(model)
    shapes = {} if batch == 1 else {"x": (batch, 4, 8)}
    case = Case(f"vit_opset{opset}_batch{batch}", model, attention_inputs(batch), RTOL, ATOL)
    case.graph = load_onnx(model, input_shapes=shapes)
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
