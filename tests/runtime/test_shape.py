"""Data movement (concat, reshape, transpose, slice, split, pad) against onnxruntime."""

import numpy as np
import pytest
from onnx import helper

from n2d2c.errors import ShapeError
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

from ._harness import check, rand

I64 = np.int64


@pytest.mark.parametrize("axis,shapes", [
    (1, [(1, 2, 3, 3), (1, 4, 3, 3)]),
    (0, [(2, 3), (1, 3), (4, 3)]),
    (-1, [(2, 3, 1), (2, 3, 5)]),
    (2, [(1, 2, 3, 3)]),
])
def test_concat(axis, shapes):
    names = [f"x{i}" for i in range(len(shapes))]
    arrays = {n: rand(*s, seed=i) for i, (n, s) in enumerate(zip(names, shapes))}
    node = helper.make_node("Concat", names, ["y"], axis=axis)
    check(ops.Concat(axis=axis), node, arrays)


def test_concat_with_constant():
    node = helper.make_node("Concat", ["x", "k"], ["y"], axis=1)
    check(ops.Concat(axis=1), node, {"x": rand(1, 2, 2), "k": rand(1, 3, 2, seed=4)}, consts=("k",))


@pytest.mark.parametrize("src,dst", [((2, 3, 4), (6, 4)), ((1, 8, 1, 1), (1, 8)), ((24,), (2, 3, 4)),
                                     ((2, 3), (3, 2)), ((1,), ())])
def test_reshape(src, dst):
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    check(ops.Reshape(shape=dst), node, {"x": rand(*src)},
          onnx_consts={"shape": np.array(dst, I64)})


@pytest.mark.parametrize("perm", [(0, 2, 3, 1), (3, 2, 1, 0), (0, 1, 2, 3), (1, 0, 3, 2)])
def test_transpose(perm):
    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    check(ops.Transpose(perm=perm), node, {"x": rand(2, 3, 4, 5)})


BEFORE_START = -(2 ** 63)  # ONNX spelling of the IR's end = -1 with a negative step

SLICES = [
    # shape, axes, starts, ends, steps (IR form: clamped, end -1 = before index 0)
    ((4, 6), (1,), (1,), (5,), (1,)),
    ((4, 6), (0, 1), (0, 0), (4, 6), (2, 3)),
    ((4, 6), (1,), (5,), (-1,), (-1,)),            # full reverse
    ((4, 6), (1,), (4,), (0,), (-2,)),             # stops before index 0
    ((3, 8, 5), (1, 2), (7, 3), (-1, 0), (-3, -1)),
    ((2, 3, 8, 8), (2, 3), (1, 6), (7, 1), (2, -2)),
    ((2, 3, 4), (0,), (1,), (2,), (1,)),
    ((5,), (0,), (3,), (3,), (1,)),                # empty result
]


@pytest.mark.parametrize("shape,axes,starts,ends,steps", SLICES, ids=str)
def test_slice(shape, axes, starts, ends, steps):
    onnx_ends = [BEFORE_START if e < 0 else e for e in ends]
    consts = {"starts": np.array(starts, I64), "ends": np.array(onnx_ends, I64),
              "axes": np.array(axes, I64), "steps": np.array(steps, I64)}
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])
    check(ops.Slice(axes=axes, starts=starts, ends=ends, steps=steps), node,
          {"x": rand(*shape)}, onnx_consts=consts)


@pytest.mark.parametrize("axis,sizes", [(1, (2, 3, 1)), (0, (1, 1)), (-1, (4, 1)), (2, (3,))])
def test_split(axis, sizes):
    outs = [f"y{i}" for i in range(len(sizes))]
    node = helper.make_node("Split", ["x", "split"], outs, axis=axis)
    got = check(ops.Split(axis=axis, sizes=sizes), node, {"x": _split_input(axis, sizes)},
                onnx_consts={"split": np.array(sizes, I64)})
    assert len(got) == len(sizes)


def _split_input(axis, sizes):
    shape = [2, 6, 3, 5]
    shape[axis] = sum(sizes)
    return rand(*shape)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pads", [
    (0, 0, 1, 2, 0, 0, 2, 1),
    (0, 1, 0, 0, 0, 2, 0, 0),
    (0, 1, 1, 1, 0, 1, 0, 3),
    (0, 0, -1, 2, 0, 0, 1, -2),   # negative pads crop
], ids=str)
def test_pad(mode, pads):
    inputs = ["x", "pads"] + (["value"] if mode == "constant" else [])
    consts = {"pads": np.array(pads, I64)}
    if mode == "constant":
        consts["value"] = np.array(1.5, np.float32)
    node = helper.make_node("Pad", inputs, ["y"], mode=mode)
    check(ops.Pad(pads=pads, mode=mode, value=1.5 if mode == "constant" else 0.0), node,
          {"x": rand(1, 3, 4, 5)}, onnx_consts=consts)


def test_pad_reflect_wider_than_input_is_refused():
    g = Graph()
    x = g.add_input("x", TensorType((1, 3)))
    g.outputs = [g.add(ops.Pad(pads=(0, 3, 0, 0), mode="reflect"), [x]).output]
    with pytest.raises(ShapeError, match="reflect"):
        simulate(g, {"x": rand(1, 3)})


def test_constant_output_and_integer_data_movement():
    g = Graph()
    k = g.constant(np.arange(12, dtype=np.int64).reshape(3, 4), "k")
    t = g.add(ops.Transpose(perm=(1, 0)), [k]).output
    s = g.add(ops.Slice(axes=(0,), starts=(3,), ends=(-1,), steps=(-1,)), [t]).output
    x = g.add_input("x", TensorType((2,), DType.I64))
    c = g.add(ops.Concat(axis=0), [x, g.add(ops.Reshape(shape=(12,)), [s]).output]).output
    g.outputs = [k, c]
    out = simulate(g, {"x": np.array([7, 8])})
    assert list(out) == ["k", "concat"]
    np.testing.assert_array_equal(out["k"], np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(out["concat"],
                                  np.concatenate([[7, 8], np.arange(12).reshape(3, 4).T[::-1].ravel()]))
    assert out["concat"].dtype == np.int64
    # The constant handed out is a copy: mutating it must not change the graph.
    out["k"][0, 0] = 99
    assert simulate(g, {"x": np.array([7, 8])})["k"][0, 0] == 0
