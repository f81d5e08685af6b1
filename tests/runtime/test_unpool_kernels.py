"""Max pooling with indices and max unpooling: simulator vs onnxruntime and vs numpy."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from n2d2c.errors import InputError
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

from ._harness import rand, run_onnxruntime
from .test_pool import POOL_CASES, _onnx_attrs

I64 = (np.int64, 4)
F32 = (np.float32, 4)


# -- plain numpy references ----------------------------------------------------------------
def reference_pool(x, kernel, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1),
                   ceil_mode=False, storage_order=0):
    """First maximum in window order; the first NaN wins over any number."""
    from n2d2c.ir.ops.shape_rules import window_output
    n, c, h, w = x.shape
    oh = window_output(h, kernel[0], strides[0], pads[0], pads[2], dilations[0], ceil_mode)
    ow = window_output(w, kernel[1], strides[1], pads[1], pads[3], dilations[1], ceil_mode)
    y = np.empty((n, c, oh, ow), np.float32)
    where = np.empty((n, c, oh, ow), np.int64)
    for b, ch, i, j in np.ndindex(n, c, oh, ow):
        cells = [(ih, iw) for ih in range(i * strides[0] - pads[0],
                                          i * strides[0] - pads[0] + kernel[0] * dilations[0],
                                          dilations[0])
                 for iw in range(j * strides[1] - pads[1],
                                 j * strides[1] - pads[1] + kernel[1] * dilations[1],
                                 dilations[1])
                 if 0 <= ih < h and 0 <= iw < w]
        values = [x[b, ch, ih, iw] for ih, iw in cells]
        nans = [k for k, v in enumerate(values) if np.isnan(v)]
        best = nans[0] if nans else int(np.argmax(values))  # argmax: first of the ties
        ih, iw = cells[best]
        y[b, ch, i, j] = values[best]
        local = iw * h + ih if storage_order else ih * w + iw
        where[b, ch, i, j] = (b * c + ch) * h * w + local
    return y, where


def reference_unpool(x, where, shape, accumulate=False):
    out = np.zeros(int(np.prod(shape)), np.float64)
    if accumulate:
        np.add.at(out, where.ravel(), x.ravel().astype(np.float64))
    else:
        for value, k in zip(x.ravel(), where.ravel()):  # in order: the last write wins
            out[k] = value
    return out.reshape(shape).astype(np.float32)


# -- graphs ------------------------------------------------------------------------------
def pool_graph(x_shape, **attrs) -> Graph:
    g = Graph("pool")
    x = g.add_input("x", TensorType(x_shape))
    g.outputs = list(g.add(ops.MaxPool2dWithIndices(**attrs), [x], ["y", "where"]).outputs)
    return g


def unpool_graph(x_shape, **attrs) -> Graph:
    g = Graph("unpool")
    x = g.add_input("x", TensorType(x_shape))
    where = g.add_input("where", TensorType(x_shape, DType.I64))
    g.outputs = [g.add(ops.MaxUnpool2d(name="up", **attrs), [x, where], ["y"]).output]
    return g


def ties(*shape, seed=0):
    """Small integers: many equal values in every window."""
    return np.round(rand(*shape, seed=seed) * 2).astype(np.float32)


CASE_IDS = [str(c).replace(" ", "") for c in POOL_CASES]


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("data", ["random", "ties"])
@pytest.mark.parametrize("xs,attrs", POOL_CASES, ids=CASE_IDS)
def test_max_pool_with_indices_matches_onnxruntime(xs, attrs, data, storage_order):
    x = rand(*xs) if data == "random" else ties(*xs)
    got = simulate(pool_graph(xs, storage_order=storage_order, **attrs), {"x": x})
    node = helper.make_node("MaxPool", ["x"], ["y", "where"], storage_order=storage_order,
                            **_onnx_attrs(attrs))
    y, where = run_onnxruntime(node, {"x": x}, {}, [F32, I64])
    np.testing.assert_array_equal(got["y"], y)
    np.testing.assert_array_equal(got["where"], where)
    assert got["where"].dtype == np.int64


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("xs,attrs", POOL_CASES, ids=CASE_IDS)
def test_max_pool_with_indices_matches_numpy(xs, attrs, storage_order):
    x = ties(*xs, seed=3)
    got = simulate(pool_graph(xs, storage_order=storage_order, **attrs), {"x": x})
    y, where = reference_pool(x, storage_order=storage_order, **attrs)
    np.testing.assert_array_equal(got["y"], y)
    np.testing.assert_array_equal(got["where"], where)


def test_nan_wins_like_the_plain_max_pool():
    x = np.array([[1, np.nan, 7, 2],
                  [np.nan, 3, 9, np.nan],
                  [np.nan, 4, 5, 6],
                  [-np.inf, 0, 8, 1]], np.float32).reshape(1, 1, 4, 4)
    attrs = dict(kernel=(2, 2), strides=(2, 2))
    got = simulate(pool_graph(x.shape, **attrs), {"x": x})
    g = Graph("plain")
    v = g.add_input("x", TensorType(x.shape))
    g.outputs = [g.add(ops.MaxPool2d(**attrs), [v]).output]
    np.testing.assert_array_equal(got["y"], simulate(g, {"x": x})["max_pool2d"])
    np.testing.assert_array_equal(got["y"].ravel(), [np.nan, np.nan, np.nan, 8])
    np.testing.assert_array_equal(got["where"].ravel(), [1, 7, 8, 14])  # the first NaN
    np.testing.assert_array_equal(got["where"], reference_pool(x, **attrs)[1])


def test_window_of_minus_infinity_points_at_its_first_cell():
    x = np.full((1, 2, 3, 3), -np.inf, np.float32)
    got = simulate(pool_graph(x.shape, kernel=(2, 2), pads=(1, 1, 0, 0)), {"x": x})
    assert np.all(got["y"] == -np.inf)
    np.testing.assert_array_equal(got["where"][0, 1].ravel(), [9, 9, 10, 9, 9, 10, 12, 12, 13])


@pytest.mark.parametrize("x_shape,attrs,output_shape", [
    ((2, 3, 8, 8), dict(kernel=(2, 2), strides=(2, 2)), None),
    ((1, 2, 9, 7), dict(kernel=(3, 2), strides=(2, 2), pads=(1, 0, 1, 1)), None),
    ((1, 2, 9, 7), dict(kernel=(2, 2), strides=(2, 2)), (1, 2, 9, 7)),
    ((2, 1, 6, 5), dict(kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1)), None),
])
def test_pool_then_unpool_matches_onnxruntime(x_shape, attrs, output_shape):
    g = Graph("pair")
    x = g.add_input("x", TensorType(x_shape))
    pool = g.add(ops.MaxPool2dWithIndices(**attrs), [x])
    unpool = ops.MaxUnpool2d(kernel=attrs["kernel"], strides=attrs["strides"],
                             pads=attrs.get("pads", (0, 0, 0, 0)),
                             output_shape=output_shape or ())
    g.outputs = [g.add(unpool, list(pool.outputs), ["y"]).output]
    feeds = {"x": ties(*x_shape, seed=5)}
    got = simulate(g, feeds)["y"]
    onnx_attrs = _onnx_attrs(attrs)
    extra = {"shape": np.array(output_shape, np.int64)} if output_shape else {}
    nodes = [helper.make_node("MaxPool", ["x"], ["p", "i"], **onnx_attrs),
             helper.make_node("MaxUnpool", ["p", "i", *extra], ["y"], **onnx_attrs)]
    [want] = run_onnxruntime(nodes, feeds, extra, [F32])
    np.testing.assert_array_equal(got, want)
    # unpooling keeps each window's maximum where it was and zeros elsewhere
    kept = got != 0
    np.testing.assert_array_equal(got[kept], feeds["x"][..., :got.shape[2], :got.shape[3]][kept])


def test_repeated_indices_last_write_wins_like_onnxruntime():
    x = np.array([1, 2, 3, 4, 5, 6], np.float32).reshape(1, 2, 1, 3)
    where = np.array([5, 5, 0, 20, 20, 5], np.int64).reshape(1, 2, 1, 3)
    attrs = dict(kernel=(2, 2), strides=(2, 2))
    got = simulate(unpool_graph(x.shape, **attrs), {"x": x, "where": where})["y"]
    node = helper.make_node("MaxUnpool", ["x", "where"], ["y"], kernel_shape=[2, 2],
                            strides=[2, 2])
    [want] = run_onnxruntime(node, {"x": x, "where": where}, {}, [F32])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, reference_unpool(x, where, got.shape))
    assert got.ravel()[5] == 6 and got.ravel()[20] == 5


def test_accumulate_adds_repeated_indices():
    x = rand(1, 3, 4, 4, seed=2)
    where = np.random.default_rng(0).integers(0, 3 * 9 * 9, x.shape).astype(np.int64)
    where.ravel()[:5] = 17  # several values onto one cell
    g = unpool_graph(x.shape, kernel=(3, 3), strides=(2, 2), accumulate=True)
    got = simulate(g, {"x": x, "where": where})["y"]
    want = reference_unpool(x, where, (1, 3, 9, 9), accumulate=True)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert got.ravel()[17] == pytest.approx(float(x.ravel()[:5].astype(np.float64).sum()))


@pytest.mark.parametrize("bad", [-1, 32])
def test_index_outside_the_output_is_an_error(bad):
    x = np.ones((1, 2, 2, 2), np.float32)
    where = np.arange(8, dtype=np.int64).reshape(x.shape)
    where[0, 1, 1, 0] = bad
    with pytest.raises(InputError) as info:
        simulate(unpool_graph(x.shape, kernel=(2, 2), strides=(2, 2)), {"x": x, "where": where})
    message = str(info.value)
    assert "'up' (max_unpool2d)" in message
    assert f"index {bad} (at flat position 6 of the indices) is outside the output " \
           "tensor<1x2x4x4xf32>, whose flat indices are 0..31" in message
