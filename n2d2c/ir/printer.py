"""Textual form of a graph.  ``parse_graph(print_graph(g))`` rebuilds ``g`` exactly.

    graph @lenet(%input: tensor<1x1x28x28xf32>) {
      %conv1.w = constant dense_resource<"conv1.w"> : tensor<6x1x5x5xf32>
      %conv1 = conv2d(%input, %conv1.w) {pads = [2, 2, 2, 2]} : tensor<1x6x28x28xf32>
      return %conv1
    }

Attributes equal to their default are not printed.  ``loc("...")`` is printed
only when an op's name differs from its first result's name.  Constants with
more than ``inline_limit`` elements are printed as ``dense_resource<"key">`` and
their arrays are put in ``resources`` (saved beside the text as .npz).

After memory planning (``plan-memory``) each materialised value carries its
placement after its type, ``tensor<1x6x28x28xf32> @arena(3136, [0, 1, 168, 6])``
(byte offset, element strides), and the graph a ``memory {...}`` summary.
"""

from __future__ import annotations

import json
import math
import re
from typing import MutableMapping

import numpy as np

from .graph import Graph, Operation, Value
from .ops.constant import Constant

_BARE_NAME = re.compile(r"[A-Za-z0-9_.]+\Z")


def format_name(name: str) -> str:
    return name if _BARE_NAME.match(name) else json.dumps(name)


def format_value(v: Value) -> str:
    return "%" + format_name(v.name)


def format_float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(float(x))


def format_attribute(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(format_attribute(v) for v in value) + "]"
    raise TypeError(f"cannot print attribute {value!r}")


def format_dense(array: np.ndarray) -> str:
    flat = array.ravel()
    if array.dtype == np.bool_:
        items = ("true" if x else "false" for x in flat)
    elif array.dtype.kind == "f":
        # str() of a numpy float scalar is the shortest text that reads back exactly.
        items = (str(x) for x in flat)
    else:
        items = (str(int(x)) for x in flat)
    return "dense<[" + ", ".join(items) + "]>"


def format_typed(v: Value) -> str:
    """A value's type, followed by its placement when memory has been planned."""
    return f"{v.type} {v.placement}" if v.placement is not None else str(v.type)


def print_graph(graph: Graph, *, inline_limit: int | None = 16,
                resources: MutableMapping[str, np.ndarray] | None = None) -> str:
    """Render ``graph``.  ``inline_limit=None`` inlines every constant."""
    params = ", ".join(f"{format_value(v)}: {format_typed(v)}" for v in graph.inputs)
    memory = ""
    if graph.memory_plan:
        memory = " memory {" + ", ".join(f"{k} = {format_attribute(v)}"
                                         for k, v in graph.memory_plan.items()) + "}"
    lines = [f"graph @{format_name(graph.name)}({params}){memory} {{"]
    for op in graph.ops:
        lines.append("  " + _format_op(op, inline_limit, resources))
    lines.append("  return " + ", ".join(format_value(v) for v in graph.outputs))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _format_op(op: Operation, inline_limit, resources) -> str:
    results = ", ".join(format_value(v) for v in op.outputs)
    types = ", ".join(format_typed(v) for v in op.outputs)
    if isinstance(op, Constant):
        if inline_limit is None or op.value.size <= inline_limit:
            body = format_dense(op.value)
        else:
            key = op.outputs[0].name
            if resources is not None:
                resources[key] = op.value
            body = f"dense_resource<{json.dumps(key)}>"
        text = f"{results} = constant {body}"
    else:
        operands = ", ".join(format_value(v) for v in op.inputs)
        text = f"{results} = {op.OP_NAME}({operands})"
        attrs = op.non_default_attributes()
        if attrs:
            text += " {" + ", ".join(f"{k} = {format_attribute(v)}" for k, v in attrs.items()) + "}"
    text += f" : {types}"
    if op.name != op.outputs[0].name:
        text += f" loc({json.dumps(op.name)})"
    return text
