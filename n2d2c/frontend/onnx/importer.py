"""load_onnx: ONNX model -> verified IR graph."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import onnx

from ...errors import InternalError, N2D2CError, UnsupportedError
from ...ir import Graph, TensorType, verify
from . import registry
from .context import ImportState, NodeContext, byte_limit
from .external_data import load_external_data
from .inputs import bind_shapes, input_shape
from .io_types import check_operands, drop_unused_widening, enter, io_dtype, leave, widen
from .loader import check_opset, default_opset, inline_functions, read_model
from .refusals import Refusals
from .tensors import sparse_to_array, tensor_to_array

# One constant (initializer, external tensor or folded result) may not exceed this.
DEFAULT_MAX_CONSTANT_BYTES = 4 * 2**30


def load_onnx(path_or_model, *, input_shapes: Mapping | None = None,
              data_shapes: Mapping | None = None,
              allow_dirs: Sequence[str | os.PathLike] = (),
              max_constant_bytes: int = DEFAULT_MAX_CONSTANT_BYTES) -> Graph:
    """Import an ONNX model (file path or ModelProto) as a verified IR graph.

    ``input_shapes`` fixes input shapes; ``data_shapes`` (``binding.DataShape``) binds
    symbolic dimensions from the data to be fed.  Both are keyed by input name,
    position, or ``""`` for the only input (see ``n2d2c.frontend.binding``).

    Raises InputError for unreadable or invalid files, UnsupportedError listing
    every unsupported op (or naming the node whose attributes are not handled),
    ShapeError for unknown input dimensions, ResourceLimitError for constants
    larger than ``max_constant_bytes``.
    """
    source = str(path_or_model) if isinstance(path_or_model, (str, os.PathLike)) else "<model>"
    try:
        model, source, base_dir = read_model(path_or_model)
        model = inline_functions(model)
        refusals = Refusals(describe_unsupported(model), f"'{source}'",
                            registry.supported_ops(), registry.constant_only_ops())
        try:
            check_opset(model, source)
        except UnsupportedError as err:
            raise refusals.merged(err) from None
        limit = int(max_constant_bytes)
        load_external_data(model, base_dir, [Path(d) for d in allow_dirs],
                           byte_limit(limit), source)
        try:
            return _import_graph(model, dict(input_shapes or {}), dict(data_shapes or {}),
                                 limit, refusals)
        except UnsupportedError as err:
            raise refusals.merged(err) from None
    except N2D2CError as err:
        if err.location is None and source not in err.message:
            err.location = source  # say which file, once
        raise
    except Exception as exc:  # never a traceback for the user: this is an n2d2c bug
        raise InternalError(f"importing '{source}' failed: {type(exc).__name__}: {exc}",
                            hint="please report this with the model") from exc


def describe_unsupported(model) -> list[tuple[str, str]]:
    """(op type, node name) of every node n2d2c cannot import, in graph order."""
    if not isinstance(model, onnx.ModelProto):
        model = inline_functions(read_model(model)[0])
    names = node_names(model.graph)
    found = []
    for node, name in zip(model.graph.node, names):
        if not registry.is_supported(node.domain, node.op_type):
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            found.append((op, name))
    return found


def as_text(name) -> str:
    """Protobuf hands back ``bytes`` for a string field that is not valid UTF-8
    (ONNX is proto2, which does not validate); names are labels, so keep them
    readable instead of failing."""
    return name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name


def node_names(graph) -> list[str]:
    """ONNX node names, with ``<OpType>_<k>`` made up for unnamed nodes."""
    used = {as_text(n.name) for n in graph.node if n.name}
    counters: Counter = Counter()
    names = []
    for node in graph.node:
        name = as_text(node.name)
        while not name or (name in used and not node.name):
            name = f"{node.op_type}_{counters[node.op_type]}"
            counters[node.op_type] += 1
        used.add(name)
        names.append(name)
    return names


def _all_tensor_names(graph) -> set[str]:
    names = {vi.name for vi in graph.input} | {vi.name for vi in graph.output}
    names |= {t.name for t in graph.initializer}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    names.discard("")
    return names


def _import_graph(model: onnx.ModelProto, overrides: dict, data: dict, limit: int,
                  refusals: Refusals) -> Graph:
    g = model.graph
    graph = Graph(as_text(g.name) or "main")
    state = ImportState(graph, default_opset(model) or 0, _all_tensor_names(g), limit)
    state.used = {name for node in g.node for name in node.input} | {vi.name for vi in g.output}
    graph.metadata.update({"source_format": "onnx", "opset": state.opset,
                           "producer": f"{model.producer_name} {model.producer_version}".strip()})

    for tensor in g.initializer:
        state.set_const(tensor.name, tensor_to_array(tensor, state.check_bytes), "an initializer")
    for sparse in g.sparse_initializer:
        state.set_const(sparse.values.name, sparse_to_array(sparse, state.check_bytes),
                        "a sparse initializer")

    # Inputs that also have an initializer are weights (IR < 4 listed them as inputs).
    inputs = [vi for vi in g.input if vi.name not in state.consts]
    overrides, bound = bind_shapes(inputs, overrides, data)
    for vi in inputs:
        dtype = io_dtype(vi, "input")  # float16 is widened to float32 (io_types.py)
        shape = input_shape(vi, overrides, bound)
        state.values[vi.name] = enter(state, vi.name, graph.add_input(vi.name,
                                                                     TensorType(shape, dtype)))

    registry.load_converters()
    for node, name in zip(g.node, node_names(g)):
        if refusals.skips(node, name):
            continue
        try:
            _convert_node(state, node, name)
        except UnsupportedError as err:
            refusals.refuse(node, err)  # go on: the user gets every refusal at once
    refused = refusals.error()
    if refused is not None:
        raise refused

    outputs = []
    for vi in g.output:
        if vi.name not in state.values and vi.name not in state.consts:
            raise InternalError(f"graph output '{vi.name}' was not produced by any node")
        value = state.runtime_value(vi.name, f"graph output '{vi.name}'", any_dtype=True)
        outputs.append(leave(state, vi, value))
    graph.outputs = outputs
    drop_unused_widening(state)
    verify(graph)
    return graph


def _convert_node(state: ImportState, node, name: str) -> None:
    ctx = NodeContext(state, node, name)
    try:
        fold = registry.FOLDERS.get(node.op_type)
        if fold is not None and (not fold.needs_values or all(
                ctx.is_const(i) for i in range(ctx.num_inputs) if ctx.has(i))):
            arrays = [ctx.const(i) for i in range(ctx.num_inputs)]
            for k, array in enumerate(fold.fn(ctx, arrays)):
                if k < len(node.output) and node.output[k]:
                    ctx.set_const(k, array)
            return
        convert = registry.CONVERTERS.get(node.op_type)
        if convert is None:
            runtime = [node.input[i] for i in range(ctx.num_inputs)
                       if ctx.has(i) and not ctx.is_const(i)]
            raise ctx.unsupported(
                f"{node.op_type} is only supported on compile-time constants (shape "
                f"computations), but input '{runtime[0]}' is computed at run time")
        check_operands(ctx)
        convert(ctx)
        for out in node.output:
            widen(state, out)
    except N2D2CError:
        raise
    except Exception as exc:  # a converter bug must not surface as a traceback
        raise InternalError(f"while importing node {ctx.label}: {type(exc).__name__}: {exc}",
                            hint="please report this with the model") from exc
    for k, out in enumerate(node.output):
        # Optional results (Dropout's mask, BatchNorm's running statistics ...) may
        # be left out by a converter only if nothing reads them.
        if out and out not in state.values and out not in state.consts and out in state.used:
            raise UnsupportedError(f"node {ctx.label}: output #{k} ('{out}') is not "
                                   "supported, but the model uses it")
