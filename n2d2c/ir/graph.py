"""Values, operations and the graph that owns them.

An ``Operation`` subclass is pure data: its typed attributes are dataclass
fields, and ``infer`` gives the result types from the operand types.  What an
op *does* lives elsewhere (simulator kernels, backend templates), keyed by the
op class, so adding a backend never touches the op definitions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar, Iterator, Sequence

import numpy as np

from ..errors import ShapeError, VerificationError
from .names import unique_name
from .op_list import OpList
from .types import TensorType


@dataclass(frozen=True)
class Placement:
    """Where a value lives once memory is planned (the ``plan-memory`` pass).

    ``space`` is ``"arena"`` (the backend's one static arena) or ``"external"``
    (a buffer of its own: a graph input kept out of the arena); ``offset`` is the
    byte address of element ``[0, ..., 0]`` in that space and ``strides`` the
    distance in elements between neighbours along each dimension (0 for a
    dimension of size 1).  A concat input written in place is a strided view of
    the concat's buffer.  Printed as a suffix of the type:
    ``tensor<1x8x4x4xf32> @arena(256, [0, 1, 64, 16])``.
    """

    space: str
    offset: int
    strides: tuple[int, ...]

    def __str__(self) -> str:
        return f"@{self.space}({self.offset}, [{', '.join(str(s) for s in self.strides)}])"


class Value:
    """An SSA value: a graph input or one result of an operation."""

    __slots__ = ("name", "type", "producer", "index", "placement")

    def __init__(self, name: str, type: TensorType, producer: "Operation | None" = None,
                 index: int = 0, placement: Placement | None = None):
        self.name = name
        self.type = type
        self.producer = producer
        self.index = index
        self.placement = placement

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type}"


_BASE_FIELDS = ("inputs", "outputs", "name")
# A sanity bound, not a target limit: 2**40 elements is past any memory a backend
# can plan, and refusing it here keeps absurd shapes (a fuzzed Padding=1e9) from
# reaching numpy allocations.
MAX_TENSOR_ELEMENTS = 2 ** 40


@dataclass(eq=False, kw_only=True)
class Operation:
    """Base of every op.  Subclasses declare ``OP_NAME`` and typed attribute fields."""

    OP_NAME: ClassVar[str] = ""
    # (min, max) number of operands; max None = variadic.
    ARITY: ClassVar[tuple[int, int | None]] = (1, 1)
    NUM_RESULTS: ClassVar[int] = 1

    inputs: list[Value] = field(default_factory=list, repr=False, compare=False)
    outputs: list[Value] = field(default_factory=list, repr=False, compare=False)
    name: str = field(default="", compare=False)

    # -- description ---------------------------------------------------------
    @classmethod
    def attribute_fields(cls) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(cls) if f.name not in _BASE_FIELDS]

    def attributes(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in self.attribute_fields()}

    def non_default_attributes(self) -> dict[str, object]:
        out = {}
        for f in self.attribute_fields():
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and _same(value, f.default):
                continue
            if f.default_factory is not dataclasses.MISSING and _same(value, f.default_factory()):
                continue
            out[f.name] = value
        return out

    @property
    def label(self) -> str:
        """How errors name this op: its node name and kind."""
        return f"'{self.name}' ({self.OP_NAME})" if self.name else f"({self.OP_NAME})"

    @property
    def output(self) -> Value:
        return self.outputs[0]

    # -- typing ----------------------------------------------------------------
    def infer(self, types: Sequence[TensorType]) -> list[TensorType]:
        """Result types from operand types; raise ``self.error`` on a mismatch."""
        raise NotImplementedError(type(self).__name__)

    def error(self, message: str) -> ShapeError:
        return ShapeError(f"{self.label}: {message}", location=self.name or None)

    def check_arity(self, n: int) -> None:
        lo, hi = self.ARITY
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else f"{lo}..{hi if hi is not None else 'n'}"
            raise self.error(f"expects {want} operands, got {n}")

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in self.non_default_attributes().items())
        return f"{type(self).__name__}({self.name!r}{', ' if attrs else ''}{attrs})"


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False
    return a == b


class Graph:
    """A dataflow graph in topological order with named inputs and outputs.

    Every value knows its readers: the graph keeps, per value, the (op, operand
    index) pairs that read it, so that finding users and rewiring them costs the
    number of uses, not the size of the graph.  That bookkeeping holds only if
    operands and the op list change through the methods below (``add``,
    ``set_operand``, ``replace_all_uses``, ``erase`` ...); ``verify`` reports an
    operand that was assigned behind the graph's back.
    """

    def __init__(self, name: str = "main"):
        self.name = name
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self._ops = OpList()
        # value -> {(id(op), operand index): op}, an insertion-ordered set of its uses.
        self._uses: dict[Value, dict[tuple[int, int], Operation]] = {}
        self.metadata: dict[str, object] = {}
        # Summary of the memory plan whose placements the values carry (``plan-memory``);
        # printed as ``memory {...}`` after the parameters.  Scalars only.
        self.memory_plan: dict[str, object] = {}
        self._names: set[str] = set()

    # -- pickling (Dask workers receive graphs) ----------------------------------------
    def __getstate__(self) -> dict:
        """The op list and the use-lists are keyed by ``id(op)``, which unpickling
        changes: they travel as ordered lists and are re-keyed on arrival (use order
        kept, so passes behave the same on the copy)."""
        state = self.__dict__.copy()
        state["_ops"] = list(self._ops)
        state["_uses"] = [(v, [(op, i) for (_, i), op in uses.items()])
                          for v, uses in self._uses.items()]
        return state

    def __setstate__(self, state: dict) -> None:
        ops, uses = state.pop("_ops"), state.pop("_uses")
        self.__dict__.update(state)
        self._ops = OpList(ops)
        self._uses = {v: {(id(op), i): op for op, i in pairs} for v, pairs in uses}

    @property
    def ops(self) -> tuple[Operation, ...]:
        """The ops in order: a snapshot that later rewrites leave as it was."""
        return self._ops.snapshot()

    # -- naming ------------------------------------------------------------------
    def unique_name(self, base: str) -> str:
        return unique_name(base or "v", self._names)

    # -- construction ------------------------------------------------------------
    def add_input(self, name: str, type: TensorType) -> Value:
        value = Value(self.unique_name(name), type)
        self.inputs.append(value)
        return value

    def add(self, op: Operation, inputs: Sequence[Value], names: Sequence[str] | None = None,
            *, types: Sequence[TensorType] | None = None, before: Operation | None = None,
            after: Operation | None = None) -> Operation:
        """Append ``op`` (or insert it before/after another op) and create its results.

        Result types are inferred unless ``types`` is given (the parser passes
        the printed types; the verifier then checks they agree).
        """
        op.inputs = list(inputs)
        op.check_arity(len(op.inputs))
        if types is None:
            types = op.infer([v.type for v in op.inputs])
        for t in types:
            if t.size > MAX_TENSOR_ELEMENTS:
                raise op.error(f"result {t} has {t.size} elements, more than any target "
                               f"can address (at most 2**40)")
        if names is None:
            stem = op.name or op.OP_NAME
            names = [stem] if len(types) == 1 else [f"{stem}:{i}" for i in range(len(types))]
        if len(names) != len(types):
            raise op.error(f"has {len(types)} results but {len(names)} names were given")
        if not op.name:
            op.name = names[0]
        op.outputs = [Value(self.unique_name(n), t, op, i)
                      for i, (n, t) in enumerate(zip(names, types))]
        if before is not None:
            self._ops.insert_before(before, op)
        elif after is not None:
            self._ops.insert_after(after, op)
        else:
            self._ops.append(op)
        for i, v in enumerate(op.inputs):
            self._add_use(v, op, i)
        return op

    def constant(self, array: np.ndarray, name: str = "const", **where) -> Value:
        from .ops.constant import Constant
        return self.add(Constant(value=np.asarray(array), name=name), [], [name], **where).output

    def view(self, outputs: Sequence[Value]) -> "Graph":
        """A graph with this graph's inputs and ops but ``outputs`` as its results (to
        simulate intermediate values).  The two share their ops: rewrite neither while
        the other is in use."""
        view = Graph(self.name)
        view.inputs = self.inputs
        view._ops = OpList(self._ops.snapshot())
        view._uses = {v: dict(uses) for v, uses in self._uses.items()}
        view._names = set(self._names)
        view.outputs = list(outputs)
        return view

    def copy(self) -> "Graph":
        """An independent graph with the same names, types, placements, attributes and
        metadata.  Constant arrays are shared, not copied: passes never write into an
        array, they replace the constant (``replace_constant``)."""
        new = Graph(self.name)
        values = {}
        for v in self.inputs:
            values[v] = new.add_input(v.name, v.type)
            values[v].placement = v.placement
        for op in self._ops:
            clone = dataclasses.replace(op, inputs=[], outputs=[])
            new.add(clone, [values[v] for v in op.inputs], [v.name for v in op.outputs],
                    types=[v.type for v in op.outputs])
            for old, fresh in zip(op.outputs, clone.outputs):
                fresh.placement = old.placement
                values[old] = fresh
        new.outputs = [values[v] for v in self.outputs]
        new.metadata = dict(self.metadata)
        new.memory_plan = dict(self.memory_plan)
        new._names = set(self._names)
        return new

    def take_contents(self, other: "Graph") -> None:
        """Become ``other`` (inputs, ops, outputs, names, metadata), keeping this graph's
        name: how a pass that builds a new graph (``quantize``) rewrites in place.
        ``other`` must not be used afterwards."""
        self.inputs, self.outputs = other.inputs, other.outputs
        self._ops, self._uses, self._names = other._ops, other._uses, other._names
        self.metadata = other.metadata
        self.memory_plan = other.memory_plan

    # -- queries -------------------------------------------------------------------
    def users(self, value: Value) -> list[tuple[Operation, int]]:
        """Every (op, operand index) reading ``value``, in graph order."""
        uses = self._uses.get(value)
        if not uses:
            return []
        pairs = [(op, index) for (_, index), op in uses.items()]
        if len(pairs) > 1:
            order = self._ops.order_key
            pairs.sort(key=lambda use: (order(use[0]), use[1]))
        return pairs

    def recorded_uses(self) -> Iterator[tuple[Value, Operation, int]]:
        """Every (value, op, operand index) of the use-lists, for the verifier."""
        for value, uses in self._uses.items():
            for (_, index), op in uses.items():
                yield value, op, index

    def is_output(self, value: Value) -> bool:
        return any(v is value for v in self.outputs)

    def values(self) -> Iterator[Value]:
        yield from self.inputs
        for op in self.ops:
            yield from op.outputs

    def find_op(self, name: str) -> Operation:
        for op in self.ops:
            if op.name == name:
                return op
        raise KeyError(name)

    def ops_of(self, *classes: type) -> list[Operation]:
        return [op for op in self.ops if isinstance(op, classes)]

    def constant_value(self, value: Value) -> np.ndarray | None:
        """The array behind ``value`` when it is produced by a Constant, else None."""
        from .ops.constant import Constant
        return value.producer.value if isinstance(value.producer, Constant) else None

    # -- rewriting -------------------------------------------------------------
    def set_operand(self, op: Operation, index: int, value: Value) -> None:
        """Make operand ``index`` of ``op`` read ``value``; ``index == len(op.inputs)``
        appends an operand (an optional bias, say)."""
        if op not in self._ops:
            raise VerificationError(f"cannot change an operand of {op.label}: "
                                    "the op is not in this graph")
        if index == len(op.inputs):
            op.inputs.append(value)
        else:
            self._drop_use(op.inputs[index], op, index)
            op.inputs[index] = value
        self._add_use(value, op, index)

    def set_operands(self, op: Operation, values: Sequence[Value]) -> None:
        """Replace every operand of ``op`` (their number may change)."""
        if op not in self._ops:
            raise VerificationError(f"cannot change the operands of {op.label}: "
                                    "the op is not in this graph")
        for i, v in enumerate(op.inputs):
            self._drop_use(v, op, i)
        op.inputs = list(values)
        for i, v in enumerate(op.inputs):
            self._add_use(v, op, i)

    def replace_all_uses(self, old: Value, new: Value) -> None:
        if old is new:
            return
        uses = self._uses.pop(old, None)
        if uses:
            moved = self._uses.setdefault(new, {})
            for key, op in uses.items():
                op.inputs[key[1]] = new
                moved[key] = op
        self.outputs = [new if v is old else v for v in self.outputs]

    def rename(self, value: Value, name: str) -> None:
        """Give ``value`` the unused name ``name`` (e.g. to keep a graph output's name)."""
        if name == value.name:
            return
        if name in self._names:
            raise VerificationError(f"cannot rename %{value.name} to %{name}: name in use")
        self._names.discard(value.name)
        self._names.add(name)
        value.name = name

    def erase(self, op: Operation) -> None:
        """Remove an op whose results are no longer used."""
        for out in op.outputs:
            if self._uses.get(out) or self.is_output(out):
                raise VerificationError(f"cannot erase {op.label}: result %{out.name} still used")
        if op not in self._ops:
            raise VerificationError(f"cannot erase {op.label}: it is not in this graph")
        self._remove(op)
        for out in op.outputs:
            self._names.discard(out.name)

    def replace_op(self, op: Operation, new_values: Sequence[Value]) -> None:
        """Redirect every use of ``op``'s results to ``new_values`` and erase ``op``."""
        for old, new in zip(op.outputs, new_values, strict=True):
            self.replace_all_uses(old, new)
        self.erase(op)

    def remove_dead_ops(self) -> int:
        """Erase ops none of whose results reach an output. Returns how many.

        Their result names stay reserved, so names created later do not depend on
        whether dead code was removed first."""
        live: set[int] = {id(v) for v in self.outputs}
        dead: list[Operation] = []
        for op in reversed(self.ops):
            if any(id(o) in live for o in op.outputs):
                live.update(id(v) for v in op.inputs)
            else:
                dead.append(op)
        for op in dead:
            self._remove(op)
        return len(dead)

    def topo_sort(self) -> None:
        """Reorder ops topologically, keeping the current order where it is legal (stable)."""
        ready = {id(v) for v in self.inputs}
        pending = list(self.ops)
        ordered: list[Operation] = []
        while pending:
            progressed = False
            rest = []
            for op in pending:
                if all(id(v) in ready for v in op.inputs):
                    ordered.append(op)
                    ready.update(id(v) for v in op.outputs)
                    progressed = True
                else:
                    rest.append(op)
            if not progressed:
                raise VerificationError(
                    "graph has a cycle or reads undefined values at: "
                    + ", ".join(op.label for op in rest[:5]))
            pending = rest
        self._ops = OpList(ordered)

    # -- use-list bookkeeping ------------------------------------------------------
    def _add_use(self, value: Value, op: Operation, index: int) -> None:
        self._uses.setdefault(value, {})[(id(op), index)] = op

    def _drop_use(self, value: Value, op: Operation, index: int) -> None:
        uses = self._uses.get(value)
        if uses is not None:
            uses.pop((id(op), index), None)
            if not uses:
                del self._uses[value]

    def _remove(self, op: Operation) -> None:
        self._ops.remove(op)
        for i, v in enumerate(op.inputs):
            self._drop_use(v, op, i)

    def __contains__(self, op: object) -> bool:
        return op in self._ops

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self._ops)

    def __str__(self) -> str:
        from .printer import print_graph
        return print_graph(self)
