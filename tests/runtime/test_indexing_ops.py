"""Simulator kernels of the indexing ops and batched MatMul against onnxruntime.

Indices are graph inputs here (run time, int64 and int32) unless a case says constant.
"""

import numpy as np
import pytest
from onnx import helper

from n2d2c.errors import InputError, ShapeError
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

from ._harness import check, rand

I64, I32 = np.int64, np.int32


def _indices(shape, low, high, dtype=I64, seed=0):
    return np.random.default_rng(seed).integers(low, high, shape).astype(dtype)


@pytest.mark.parametrize("shape,axis,indices", [
    ((5, 3), 0, np.array([[0, -1], [4, 2]], I64)),
    ((2, 5, 3, 4), 1, np.array([4, -5, 1], I32)),
    ((2, 5, 3, 4), -1, np.array(-2, I64)),          # a scalar index drops the axis
    ((2, 5, 3, 4), 2, _indices((2, 2, 2), -3, 3, I32)),
    ((6,), 0, _indices((3, 4), -6, 6)),
])
@pytest.mark.parametrize("constant", [False, True], ids=["runtime", "constant"])
def test_gather(shape, axis, indices, constant):
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)
    check(ops.Gather(axis=axis), node, {"x": rand(*shape), "i": indices},
          consts=("i",) if constant else ())


@pytest.mark.parametrize("shape,axis,ind_shape", [
    ((3, 4), 0, (2, 4)),
    ((2, 5, 3, 4), 1, (2, 7, 3, 4)),                # more indices than the axis is long
    ((2, 5, 3, 4), -1, (1, 2, 3, 2)),               # indices smaller than the data
])
def test_gather_elements(shape, axis, ind_shape):
    size = shape[axis]
    node = helper.make_node("GatherElements", ["x", "i"], ["y"], axis=axis)
    check(ops.GatherElements(axis=axis), node,
          {"x": rand(*shape), "i": _indices(ind_shape, -size, size, seed=len(ind_shape))})


def test_gather_of_quantized_data_keeps_its_type():
    g = Graph("q")
    x = g.add_input("x", TensorType((4, 3), DType.I8))
    y = g.add(ops.Gather(axis=0), [x, g.constant(np.array([3, -4], I64), "i")]).output
    g.outputs = [y]
    data = np.arange(12, dtype=np.int8).reshape(4, 3)
    got = simulate(g, {"x": data})[y.name]
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, data[[3, 0]])


def test_run_time_index_out_of_range_is_an_input_error():
    g = Graph("bad")
    x = g.add_input("x", TensorType((4, 3)))
    i = g.add_input("i", TensorType((2,), DType.I64))
    g.outputs = [g.add(ops.Gather(axis=0), [x, i]).output]
    with pytest.raises(InputError, match="index 4 is out of range for axis 0 of size 4"):
        simulate(g, {"x": rand(4, 3), "i": np.array([0, 4], I64)})


@pytest.mark.parametrize("src,shape", [((3, 1), (2, 1, 4)), ((2, 3), (1, 1)), ((1,), (3, 2)),
                                       ((4, 1, 2), (4, 3, 2))])
def test_expand(src, shape):
    node = helper.make_node("Expand", ["x", "s"], ["y"])
    check(ops.Expand(shape=shape), node, {"x": rand(*src)}, onnx_consts={"s": np.array(shape, I64)})


@pytest.mark.parametrize("src,repeats", [((3, 2), (2, 3)), ((2, 1, 3), (1, 4, 2)), ((5,), (1,))])
def test_tile(src, repeats):
    node = helper.make_node("Tile", ["x", "r"], ["y"])
    check(ops.Tile(repeats=repeats), node, {"x": rand(*src)},
          onnx_consts={"r": np.array(repeats, I64)})


@pytest.mark.parametrize("mode,blocksize,shape", [("DCR", 2, (2, 8, 2, 3)), ("CRD", 2, (1, 8, 3, 2)),
                                                  ("DCR", 3, (1, 18, 2, 2))])
def test_depth_to_space(mode, blocksize, shape):
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=blocksize, mode=mode)
    check(ops.DepthToSpace(blocksize=blocksize, mode=mode), node, {"x": rand(*shape)})


@pytest.mark.parametrize("blocksize,shape", [(2, (2, 3, 4, 6)), (3, (1, 2, 3, 6))])
def test_space_to_depth(blocksize, shape):
    node = helper.make_node("SpaceToDepth", ["x"], ["y"], blocksize=blocksize)
    check(ops.SpaceToDepth(blocksize=blocksize), node, {"x": rand(*shape)})


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_space_to_depth_undoes_depth_to_space(mode):
    """CRD SpaceToDepth (opset 28) is checked this way: onnxruntime has no such mode."""
    g = Graph("round")
    x = g.add_input("x", TensorType((1, 12, 2, 3)))
    d = g.add(ops.DepthToSpace(blocksize=2, mode=mode), [x]).output
    g.outputs = [g.add(ops.SpaceToDepth(blocksize=2, mode=mode), [d]).output]
    data = rand(1, 12, 2, 3)
    np.testing.assert_array_equal(simulate(g, {"x": data})[g.outputs[0].name], data)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("k,shape", [(0, (4, 5)), (1, (2, 3, 5, 3)), (-2, (3, 4)), (7, (3, 4))])
def test_trilu(upper, k, shape):
    node = helper.make_node("Trilu", ["x", "k"], ["y"], upper=int(upper))
    check(ops.Trilu(upper=upper, k=k), node, {"x": rand(*shape)},
          onnx_consts={"k": np.array(k, I64)})


@pytest.mark.parametrize("a,b", [((2, 3, 5, 4), (2, 3, 4, 5)), ((2, 1, 3, 4), (1, 5, 4, 2)),
                                 ((3, 4), (2, 4, 6)), ((2, 5, 8), (8, 3)), ((4,), (2, 4, 3)),
                                 ((2, 3, 4), (4,))])
def test_batched_matmul(a, b):
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    check(ops.MatMul(), node, {"a": rand(*a), "b": rand(*b, seed=1)})


@pytest.mark.parametrize("op,operands,message", [
    (ops.Gather(axis=2), [(3, 4), ((2,), DType.I64)], "axis 2 out of range"),
    (ops.Gather(), [(3, 4), ((2,), DType.F32)], "indices must be i32 or i64"),
    (ops.GatherElements(axis=0), [(3, 4), ((2, 5), DType.I64)], "exceeds the data shape"),
    (ops.Expand(shape=(2, 3)), [(4,)], "do not broadcast"),
    (ops.Tile(repeats=(2,)), [(3, 4)], "needs 2 non-negative repeats"),
    (ops.DepthToSpace(blocksize=2), [(1, 6, 2, 2)], "not a multiple of blocksize"),
    (ops.DepthToSpace(mode="RCD"), [(1, 8, 2, 2)], "mode 'RCD'"),
    (ops.SpaceToDepth(blocksize=2), [(1, 1, 3, 4)], "not a multiple of blocksize 2"),
    (ops.Trilu(), [(4,)], "rank >= 2"),
])
def test_shape_rules_name_the_op(op, operands, message):
    g = Graph("bad")
    inputs = [g.add_input(f"x{i}", TensorType(*spec) if isinstance(spec[0], tuple)
                          else TensorType(spec)) for i, spec in enumerate(operands)]
    op.name = "bad_node"
    with pytest.raises(ShapeError, match=message) as err:
        g.add(op, inputs)
    assert "bad_node" in str(err.value)
