"""Gemm's operand arrangement (trans_a / trans_b) is decided in one place."""

import numpy as np
import pytest

from n2d2c.ir import TensorType, ops


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_axes_agree_with_the_product(trans_a, trans_b):
    m, k, n = 2, 3, 5
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if trans_a else (m, k))
    b = rng.standard_normal((n, k) if trans_b else (k, n))
    op = ops.Gemm(trans_a=trans_a, trans_b=trans_b)
    oa, ob = op.effective_operands(a, b)
    np.testing.assert_array_equal(oa @ ob, (a.T if trans_a else a) @ (b.T if trans_b else b))
    assert a.shape[op.a_inner_axis] == k
    assert b.shape[op.b_input_axis] == k and b.shape[op.b_output_axis] == n
    assert op.infer([TensorType(a.shape), TensorType(b.shape)])[0].shape == (m, n)
    # A backend's own transpose: here, shapes as lists.
    flip = lambda s: list(reversed(s))  # noqa: E731
    assert op.effective_operands(list(a.shape), list(b.shape), flip) == ([m, k], [k, n])
