"""Parser for the textual IR (grammar in ir.lark)."""

from __future__ import annotations

import functools
import json
import re
import typing
from importlib import resources as importlib_resources
from typing import Mapping

import lark
import numpy as np

from ..errors import ParseError, SourceLocation
from .graph import Graph, Placement, Value
from .ops.constant import Constant
from .ops.registry import OPS
from .types import DType, Layout, TensorType


@functools.cache
def _parser() -> lark.Lark:
    grammar = importlib_resources.files(__package__).joinpath("ir.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


_TYPE = re.compile(r"tensor<((?:\d+x)*)([a-z0-9]+)(?:,\s*([a-z]+))?>\Z")


class _Builder:
    def __init__(self, filename: str, resources: Mapping[str, np.ndarray] | None):
        self.filename = filename
        self.resources = resources
        self.values: dict[str, Value] = {}

    def loc(self, item) -> SourceLocation:
        meta = getattr(item, "meta", item)
        return SourceLocation(self.filename, getattr(meta, "line", 0) or 0,
                              getattr(meta, "column", 0) or 0)

    def fail(self, message: str, item) -> ParseError:
        return ParseError(message, location=self.loc(item))

    # -- leaves ----------------------------------------------------------------
    @staticmethod
    def name(token) -> str:
        text = str(token)
        return json.loads(text) if text.startswith('"') else text

    def value_name(self, tree) -> str:
        return self.name(str(tree.children[0])[1:])

    def use(self, tree) -> Value:
        name = self.value_name(tree)
        if name not in self.values:
            raise self.fail(f"use of undefined value %{name}", tree.children[0])
        return self.values[name]

    def type(self, token) -> TensorType:
        m = _TYPE.match(str(token))
        dtypes = {d.value: d for d in DType}
        layouts = {l.value: l for l in Layout}
        if not m or m.group(2) not in dtypes or (m.group(3) and m.group(3) not in layouts):
            raise self.fail(f"malformed type {token}; expected e.g. tensor<1x3x32x32xf32> with "
                            f"element type in {sorted(dtypes)} and layout in {sorted(layouts)}",
                            token)
        dims = tuple(int(d) for d in m.group(1).split("x") if d)
        return TensorType(dims, dtypes[m.group(2)], layouts[m.group(3)] if m.group(3) else Layout.NCHW)

    @staticmethod
    def scalar(tree):
        token = tree.children[0]
        kind, text = token.type, str(token)
        if kind == "TRUE":
            return True
        if kind == "FALSE":
            return False
        if kind in ("INF", "NAN"):
            return float(text)
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text)

    def attrval(self, tree):
        if tree.data == "scalar":
            return self.scalar(tree)
        if tree.data == "string":
            return json.loads(str(tree.children[0]))
        return tuple(self.attrval(c) for c in tree.children if c is not None)

    # -- statements --------------------------------------------------------------
    def define(self, tree) -> Value:
        name = self.value_name(tree)
        if name in self.values:
            raise self.fail(f"value %{name} is defined twice", tree.children[0])
        return name

    def op(self, graph: Graph, tree) -> None:
        children = tree.children
        results = [c for c in children if isinstance(c, lark.Tree) and c.data == "value"]
        opname = next(c for c in children if isinstance(c, lark.Token) and c.type == "OPNAME")
        payload = next(c for c in children if isinstance(c, lark.Tree)
                       and c.data in ("call", "dense", "resource"))
        typed = [c for c in children if isinstance(c, lark.Tree) and c.data == "result"]
        types = [self.type(c.children[0]) for c in typed]
        placements = [self.placement(c.children[1], t.rank) for c, t in zip(typed, types)]
        loc = next((c for c in children if isinstance(c, lark.Tree) and c.data == "loc"), None)
        names = [self.define(r) for r in results]
        if len(types) != len(names):
            raise self.fail(f"{len(names)} results but {len(types)} types", tree)
        op_name = json.loads(str(loc.children[0])) if loc is not None else names[0]

        if payload.data == "call":
            cls = OPS.get(str(opname))
            if cls is None or cls is Constant:
                raise self.fail(f"unknown op '{opname}'; known ops: {', '.join(sorted(OPS))}", opname)
            operands = [self.use(v) for v in payload.children if isinstance(v, lark.Tree)
                        and v.data == "value"]
            attrs_tree = next((c for c in payload.children if isinstance(c, lark.Tree)
                               and c.data == "attrs"), None)
            op = cls(name=op_name, **self.attributes(cls, attrs_tree))
        else:
            if str(opname) != "constant":
                raise self.fail(f"only 'constant' takes a dense literal, not '{opname}'", opname)
            op = Constant(name=op_name, value=self.dense(payload, types[0]))
        try:
            graph.add(op, operands if payload.data == "call" else [], names, types=types)
        except ParseError:
            raise
        except Exception as exc:  # a shape error while wiring: point at the line
            raise self.fail(str(exc), tree) from None
        for v, placement in zip(op.outputs, placements):
            v.placement = placement
            self.values[v.name] = v

    def placement(self, tree, rank: int) -> Placement | None:
        if tree is None:
            return None
        space, offset, *strides = tree.children
        numbers = [offset, *(s for s in strides if s is not None)]
        if any(not str(n).lstrip("+-").isdigit() for n in numbers):
            raise self.fail("a placement is @SPACE(byte offset, [element strides]) with "
                            "integers only", tree)
        if int(str(offset)) < 0:
            raise self.fail(f"placement offset {offset} is negative", tree)
        result = Placement(str(space), int(str(offset)),
                           tuple(int(str(s)) for s in strides if s is not None))
        if len(result.strides) != rank:
            raise self.fail(f"placement has {len(result.strides)} strides for a rank-{rank} "
                            "tensor", tree)
        return result

    def memory_plan(self, tree) -> dict:
        out = {}
        attrs = tree.children[0]
        for attr in (c for c in attrs.children if c is not None):
            key = str(attr.children[0])
            if key in out:
                raise self.fail(f"memory key '{key}' is given twice", attr.children[0])
            value = self.attrval(attr.children[1])
            if isinstance(value, tuple):
                raise self.fail(f"memory key '{key}' takes a scalar, not a list", attr)
            out[key] = value
        return out

    def attributes(self, cls, tree) -> dict:
        if tree is None:
            return {}
        hints = typing.get_type_hints(cls)
        fields = {f.name for f in cls.attribute_fields()}
        out = {}
        for attr in (c for c in tree.children if c is not None):
            key = str(attr.children[0])
            if key not in fields:
                raise self.fail(f"op '{cls.OP_NAME}' has no attribute '{key}'; it has: "
                                f"{', '.join(sorted(fields)) or 'none'}", attr.children[0])
            try:
                out[key] = _coerce(self.attrval(attr.children[1]), hints[key])
            except (TypeError, ValueError) as exc:
                raise self.fail(f"attribute '{key}' of '{cls.OP_NAME}': {exc}", attr) from None
        return out

    def dense(self, payload, type_: TensorType) -> np.ndarray:
        if payload.data == "resource":
            key = json.loads(str(payload.children[0]))
            if self.resources is None or key not in self.resources:
                raise self.fail(f"constant data '{key}' is not in the resource file "
                                "(give the .npz written beside the IR)", payload)
            array = np.asarray(self.resources[key])
            if array.shape != type_.shape or array.dtype != type_.dtype.numpy:
                raise self.fail(f"resource '{key}' is {array.dtype}{list(array.shape)}, "
                                f"type says {type_}", payload)
            return array
        items = [self.scalar(c) for c in payload.children if c is not None]
        if len(items) != type_.size:
            raise self.fail(f"dense literal has {len(items)} elements, type {type_} needs "
                            f"{type_.size}", payload)
        return np.array(items, dtype=type_.dtype.numpy).reshape(type_.shape)


def _coerce(value, hint):
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, tuple):
            raise TypeError(f"expected a list, got {value!r}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if len(args) != len(value):
            raise TypeError(f"expected {len(args)} items, got {len(value)}")
        return tuple(_coerce(v, a) for v, a in zip(value, args))
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported attribute type {hint}")


def parse_graph(text: str, *, resources: Mapping[str, np.ndarray] | None = None,
                filename: str = "<ir>") -> Graph:
    """Parse textual IR. Large constants are looked up in ``resources``."""
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedInput as exc:
        where = SourceLocation(filename, exc.line if exc.line > 0 else 0,
                               exc.column if exc.column > 0 else 0)
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
        got = ""
        if isinstance(exc, lark.UnexpectedToken):
            got = f" near {str(exc.token)!r}"
        elif isinstance(exc, lark.UnexpectedCharacters):
            got = f" at {text[exc.pos_in_stream:exc.pos_in_stream + 10]!r}"
        hint = f"expected one of: {', '.join(expected[:12])}" if expected else None
        raise ParseError(f"unexpected input{got}", location=where, hint=hint) from None

    builder = _Builder(filename, resources)
    children = tree.children
    graph = Graph(builder.name(children[0].children[0]))
    i = 1
    while i < len(children) and isinstance(children[i], lark.Tree) and children[i].data == "param":
        param = children[i]
        name = builder.define(param.children[0])
        value = graph.add_input(name, builder.type(param.children[1]))
        value.placement = builder.placement(param.children[2], value.type.rank)
        builder.values[value.name] = value
        i += 1
    while i < len(children) and children[i] is None:
        i += 1
    if i < len(children) and isinstance(children[i], lark.Tree) \
            and children[i].data == "graph_memory":
        graph.memory_plan = builder.memory_plan(children[i])
        i += 1
    outputs = []
    for child in children[i:]:
        if child is None:
            continue
        if child.data == "op":
            builder.op(graph, child)
        elif child.data == "value":
            outputs.append(builder.use(child))
    graph.outputs = outputs
    return graph
