"""Simulator kernels of the comparison, logic, Where, Cast, Sign and ArgMax/ArgMin ops
against onnxruntime, through the ONNX import (float graph IO, bool and integer tensors
inside), and on IR graphs for the corner cases."""

import numpy as np
import pytest

from backend_cpp.harness import import_case, run_ort
from backend_cpp.logic_cases import ALL, SIMULATOR_ONLY
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

CASES = ALL + SIMULATOR_ONLY


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_simulator_matches_onnxruntime(case):
    got = list(simulate(import_case(case), case.feeds).values())
    want = run_ort(case.model, case.feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def _one_op(op, *types):
    g = Graph("one")
    ins = [g.add_input(f"x{i}", t) for i, t in enumerate(types)]
    g.outputs = [g.add(op, ins).output]
    return g


def test_cast_truncates_toward_zero_and_maps_nan_to_true():
    x = np.array([-2.7, -0.5, 0.0, 0.5, 2.7, np.nan, -0.0], np.float32)
    g = _one_op(ops.Cast(dtype="i32"), TensorType(x.shape))
    got = simulate(g, {"x0": x})[g.outputs[0].name]
    np.testing.assert_array_equal(got[:5], [-2, 0, 0, 0, 2])  # NaN to int is undefined
    g = _one_op(ops.Cast(dtype="i1"), TensorType(x.shape))
    got = simulate(g, {"x0": x})[g.outputs[0].name]
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, [True, True, False, True, True, True, False])


def test_argmax_of_int8_picks_first_or_last_tie():
    x = np.array([[1, 5, 5, -3], [-7, -7, 2, 2]], np.int8)
    for last, want in ((False, [[1], [2]]), (True, [[2], [3]])):
        g = _one_op(ops.ArgMax(axis=1, select_last_index=last), TensorType(x.shape, DType.I8))
        got = simulate(g, {"x0": x})[g.outputs[0].name]
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want)
