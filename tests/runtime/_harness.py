"""Build one op twice -- as an IR graph and as a single-node ONNX model -- and
check that the simulator agrees with onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from n2d2c.ir import DType, Graph, TensorType
from n2d2c.runtime import simulate

OPSET = 19
RTOL = 1e-4
ATOL = 1e-5

_ONNX_TYPES = {np.dtype("float32"): TensorProto.FLOAT, np.dtype("int64"): TensorProto.INT64,
               np.dtype("int32"): TensorProto.INT32, np.dtype("int8"): TensorProto.INT8,
               np.dtype("uint8"): TensorProto.UINT8, np.dtype("bool"): TensorProto.BOOL,
               np.dtype("float16"): TensorProto.FLOAT16}


def rand(*shape, seed=0, low=-1.0, high=1.0) -> np.ndarray:
    rng = np.random.default_rng(seed + 7919 * len(shape) + sum(shape))
    return rng.uniform(low, high, size=shape).astype(np.float32)


def run_onnxruntime(node, feeds: dict[str, np.ndarray], initializers: dict[str, np.ndarray],
                    output_types=((np.float32, 4),)) -> list[np.ndarray]:
    """Run ``node`` (or a list of nodes, the last one giving the outputs) alone;
    ``output_types`` gives (dtype, rank) of each output."""
    nodes = list(node) if isinstance(node, (list, tuple)) else [node]
    node = nodes[-1]
    inputs = [helper.make_tensor_value_info(n, _ONNX_TYPES[a.dtype], a.shape)
              for n, a in feeds.items()]
    outputs = [helper.make_tensor_value_info(n, _ONNX_TYPES[np.dtype(d)], [None] * rank)
               for n, (d, rank) in zip(node.output, output_types)]
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in initializers.items()]
    graph = helper.make_graph(nodes, "single", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def build_graph(ir_op, operands: list[str], arrays: dict[str, np.ndarray],
                consts: tuple[str, ...] = ()) -> Graph:
    g = Graph("single")
    values = {}
    for name in operands:
        a = np.asarray(arrays[name])
        if name in consts:
            values[name] = g.constant(a, name)
        else:
            values[name] = g.add_input(name, TensorType(a.shape, DType.from_numpy(a.dtype)))
    op = g.add(ir_op, [values[n] for n in operands])
    g.outputs = list(op.outputs)
    return g


def check(ir_op, node, arrays: dict[str, np.ndarray], *, consts: tuple[str, ...] = (),
          onnx_consts: dict[str, np.ndarray] | None = None, rtol=RTOL, atol=ATOL):
    """``node``'s inputs are the IR operands followed by ONNX-only constant inputs
    (``onnx_consts``: starts/ends of Slice, scales of Resize, ...)."""
    onnx_consts = onnx_consts or {}
    first = node[0] if isinstance(node, (list, tuple)) else node
    operands = [n for n in first.input if n and n not in onnx_consts]
    graph = build_graph(ir_op, operands, arrays, consts)
    feeds = {n: arrays[n] for n in operands if n not in consts}
    got = simulate(graph, feeds)
    inits = {n: arrays[n] for n in consts}
    inits.update(onnx_consts)
    want = run_onnxruntime(node, feeds, inits,
                           [(v.type.dtype.numpy, v.type.rank) for v in graph.outputs])
    assert list(got) == [v.name for v in graph.outputs]
    for (name, g_out), w_out in zip(got.items(), want):
        assert g_out.shape == w_out.shape, (name, g_out.shape, w_out.shape)
        assert g_out.dtype == w_out.dtype, (name, g_out.dtype, w_out.dtype)
        np.testing.assert_allclose(g_out, w_out, rtol=rtol, atol=atol, err_msg=name)
    return got
