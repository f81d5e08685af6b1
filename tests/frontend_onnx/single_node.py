"""Build one-node ONNX models at a chosen opset, for per-op import tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper


@dataclass(frozen=True)
class X:
    """A run-time graph input."""
    value: np.ndarray


@dataclass(frozen=True)
class C:
    """An initializer (compile-time constant)."""
    value: np.ndarray


def rand(*shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).uniform(-2, 2, shape).astype(np.float32)


def single_node_model(op: str, opset: int, inputs, n_out: int = 1, *, infer: bool = True,
                      **attrs):
    """(model, feeds) for one node; ``inputs`` holds X(...), C(...) or "" (absent).

    ``infer=False`` skips onnx's strict shape inference (which refuses a bad node before
    n2d2c sees it, and leaves a function op's result untyped): the results are then
    declared float32 tensors of the first input's rank."""
    names, graph_inputs, inits, feeds = [], [], [], {}
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            names.append(item)
            continue
        name = f"in{i}"
        names.append(name)
        array = np.asarray(item.value)
        if isinstance(item, X):
            elem = helper.np_dtype_to_tensor_dtype(array.dtype)
            graph_inputs.append(helper.make_tensor_value_info(name, elem, array.shape))
            feeds[name] = array
        else:
            inits.append(numpy_helper.from_array(array, name))
    outputs = [f"out{k}" for k in range(n_out)]
    node = helper.make_node(op, names, outputs, name=f"{op.lower()}_node", **attrs)
    rank = len(np.shape(inputs[0].value))
    results = [helper.make_value_info(o, onnx.TypeProto()) if infer else
               helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, [None] * rank)
               for o in outputs]
    graph = helper.make_graph([node], f"{op}_{opset}", graph_inputs, results, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset < 15 else 8 if opset < 19 else 9 if opset < 21 else 10
    if infer:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model, feeds
