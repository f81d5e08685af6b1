"""Mutations of a valid ONNX model, for the fuzzing tests.

Two kinds: byte-level (flip, truncate, splice: what a corrupted download looks
like) and structural (wrong dims, attributes, op types, dangling names: what a
buggy exporter or a hostile file looks like).  Everything is driven by a
hypothesis ``data`` object so failures shrink and replay.
"""

from __future__ import annotations

import onnx
from hypothesis import strategies as st
from onnx import helper

INTERESTING_INTS = [0, 1, -1, 2, 3, 7, 2**31 - 1, -(2**31), 2**40, 10**12]
OP_TYPES = ["Conv", "Relu", "Gemm", "MaxPool", "Reshape", "Concat", "Softmax", "Add",
            "Flatten", "Foo", "", "Loop", "Transpose", "Slice", "Pad", "Resize"]


def mutate_bytes(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["flip", "truncate", "splice", "zero"]))
    if not data:
        return data
    pos = draw(st.integers(0, len(data) - 1))
    if kind == "flip":
        bit = draw(st.integers(0, 7))
        return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1:]
    if kind == "truncate":
        return data[:pos]
    if kind == "splice":
        chunk = draw(st.binary(min_size=1, max_size=16))
        return data[:pos] + chunk + data[pos:]
    n = draw(st.integers(1, 32))
    return data[:pos] + bytes(n) + data[pos + n:]


def mutate_model(model: onnx.ModelProto, draw) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    kind = draw(st.sampled_from(["dims", "attr", "op_type", "input_name", "drop_init",
                                 "init_dims", "io_shape", "opset", "drop_node", "dup_node"]))
    if kind == "dims" and g.value_info:
        pass
    if kind in ("dims", "io_shape"):
        vi = draw(st.sampled_from(list(g.input) + list(g.output)))
        dims = vi.type.tensor_type.shape.dim
        if dims:
            d = dims[draw(st.integers(0, len(dims) - 1))]
            if draw(st.booleans()):
                d.dim_value = draw(st.sampled_from(INTERESTING_INTS[:7] + [10**6]))
            else:
                d.dim_param = draw(st.sampled_from(["N", "batch", ""]))
    elif kind == "attr":
        nodes = [n for n in g.node if n.attribute]
        if nodes:
            node = draw(st.sampled_from(nodes))
            attr = node.attribute[draw(st.integers(0, len(node.attribute) - 1))]
            if attr.ints:
                attr.ints[draw(st.integers(0, len(attr.ints) - 1))] = draw(
                    st.sampled_from(INTERESTING_INTS))
            elif attr.type == onnx.AttributeProto.INT:
                attr.i = draw(st.sampled_from(INTERESTING_INTS))
            else:
                attr.f = draw(st.sampled_from([0.0, -1.0, float("nan"), float("inf"), 1e30]))
    elif kind == "op_type":
        node = g.node[draw(st.integers(0, len(g.node) - 1))]
        node.op_type = draw(st.sampled_from(OP_TYPES))
    elif kind == "input_name":
        node = g.node[draw(st.integers(0, len(g.node) - 1))]
        if node.input:
            node.input[draw(st.integers(0, len(node.input) - 1))] = draw(
                st.sampled_from(["", "missing", node.output[0], g.input[0].name]))
    elif kind == "drop_init" and g.initializer:
        del g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
    elif kind == "init_dims" and g.initializer:
        init = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        if init.dims:
            init.dims[draw(st.integers(0, len(init.dims) - 1))] = draw(
                st.sampled_from(INTERESTING_INTS))
    elif kind == "opset":
        m.opset_import[0].version = draw(st.sampled_from([1, 5, 6, 7, 11, 13, 99]))
    elif kind == "drop_node" and len(g.node) > 1:
        del g.node[draw(st.integers(0, len(g.node) - 1))]
    elif kind == "dup_node":
        node = g.node[draw(st.integers(0, len(g.node) - 1))]
        g.node.append(helper.make_node(node.op_type, list(node.input), list(node.output),
                                       name=node.name))
    return m
