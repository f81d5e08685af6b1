"""``conv_wrap_margin`` is exact: the checker's row-by-row replay accepts the
margin and every larger distance, and rejects the margin minus one byte."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from n2d2c.errors import UsageError
from n2d2c.passes.memory import (Buffer, ConvWrap, MemoryPlan, MemoryProblem, PlanCheckError,
                                 check_plan, conv_wrap_margin)


def safe(wrap: ConvWrap, distance: int) -> bool:
    """Replay through the checker with the output ``distance`` bytes below the input."""
    x = Buffer("x", wrap.in_rows * wrap.row_bytes_in, -1, 0)
    y = Buffer("y", wrap.out_rows * wrap.row_bytes_out, 0, 1, wrap=wrap)
    offsets = {"y": 0, "x": distance} if distance >= 0 else {"x": 0, "y": -distance}
    arena = max(offsets["x"] + x.size, offsets["y"] + y.size)
    try:
        check_plan(MemoryProblem((x, y)), MemoryPlan(offsets, arena, "manual", 0))
    except PlanCheckError:
        return False
    return True


def test_known_margins():
    # 3x3, stride 1, pad 1: row r needs input rows >= r-1, so two rows below
    assert conv_wrap_margin(8, 8, 10, 10, 3, 1, 1) == 20
    # stride 2 halving the row size: one output row below is enough
    assert conv_wrap_margin(8, 4, 12, 6, 3, 2, 1) == 6
    # 1x1 conv: only row r itself is read by rows >= r
    assert conv_wrap_margin(4, 4, 8, 8, 1, 1, 0) == 8


def test_rejects_malformed_geometry():
    with pytest.raises(UsageError):
        conv_wrap_margin(4, 4, 8, 8, 0, 1, 0)
    with pytest.raises(UsageError):
        conv_wrap_margin(2, 1, 8, 8, 1, 1, 5)  # the only window is all padding


@st.composite
def geometries(draw):
    kh, stride = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    pad = draw(st.integers(0, kh + 1))
    in_rows = draw(st.integers(1, 10))
    out_rows = draw(st.integers(1, 10))
    return ConvWrap("x", in_rows, out_rows, draw(st.integers(1, 9)), draw(st.integers(1, 9)),
                    kh, stride, pad)


@settings(max_examples=300, deadline=None)
@given(geometries(), st.integers(0, 40))
def test_margin_is_exact_against_the_replay(wrap, extra):
    try:
        margin = wrap.margin
    except UsageError:
        return  # no window touches the input: nothing to plan
    out_bytes = wrap.out_rows * wrap.row_bytes_out
    assert margin <= out_bytes
    assert safe(wrap, margin)
    assert safe(wrap, margin + extra)
    assert not safe(wrap, margin - 1)
