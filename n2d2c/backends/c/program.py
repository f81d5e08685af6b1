"""The lowered program every C-family target renders.

Lowering turns a graph into layers (one per op, plus the input load and the
output store), each a list of kernel calls on strided views.  It decides:

* where each value lives: a buffer of the static arena, a const array or (for
  Identity/Reshape) an alias of another value's memory;
* the layout: 4-D tensors produced by convolutions and pooling are kept
  channel-last (NHWC) because those kernels vectorise over channels; every
  other kernel works on arbitrary strides, so layouts only need converting
  where a convolution or pooling reads a tensor that is not NHWC;
* fusion beyond the canonical form: the graph lowered is ``canonical_form(graph)``
  (passes/canonical.py: BatchNorms folded by ``fuse-bn``, ReLU/Clip/LeakyReLU after a
  conv/gemm/add folded into its ``activation`` by ``fuse-activation``), so those two
  fusions are the passes' alone; the lowering only adds what the IR cannot express,
  an activation op (any of ``ACTIVATIONS``) that is the only user of a kernel's
  result without an ``activation`` attribute (a map kernel's, or a sigmoid after a
  conv) applied in that kernel's epilogue;
* in-place concatenation (``concat_in_place``, the memory option
  OptimizeNoBranchConcat): a Concat input read by nothing else is written by its
  producer directly into its slice of the Concat's buffer (a strided view), so
  the Concat copies only the inputs that could not be placed.

What a kernel call means in code is decided later by the emitter of a target
(``CEmitter.prepare_<kernel>`` and the template ``<kernel>.j2``).

The Program is an IR level of its own: the kernel table (kernels.py) declares each
kernel's operand roles, parameters and memory trait, ``str(program)`` is its textual
form (program_text.py) and ``verify_program`` (program_verify.py) states its
invariants, checked at the end of ``lower_graph`` and again once buffers are placed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from ...errors import UnsupportedError
from ...ir import Graph, Operation, Value, ops
from ...ir.names import unique_name
from ...ir.types import DType
from ...passes.canonical import canonical_form
from .io_types import check_float16
from .kernels import check_call
from .program_text import print_program
from .program_verify import verify_program
from .views import ITEMSIZE, Storage, View

if TYPE_CHECKING:  # pragma: no cover
    from .buffers import ArenaPlacement


@dataclass(frozen=True)
class Activation:
    """An activation applied in a producer's epilogue (or by a map kernel)."""

    kind: str                       # relu, leaky_relu, clip, sigmoid, tanh, hard_sigmoid, hard_swish
    attrs: tuple[tuple[str, float], ...] = ()

    def attr(self, name: str) -> float:
        return dict(self.attrs)[name]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.attrs)
        return f"{self.kind}({args})" if args else self.kind


ACTIVATIONS: dict[type, Callable[[Operation], Activation]] = {
    ops.Relu: lambda op: Activation("relu"),
    ops.LeakyRelu: lambda op: Activation("leaky_relu", (("alpha", op.alpha),)),
    ops.Clip: lambda op: Activation("clip", (("min", op.min), ("max", op.max))),
    ops.Sigmoid: lambda op: Activation("sigmoid"),
    ops.Tanh: lambda op: Activation("tanh"),
    ops.Softplus: lambda op: Activation("softplus"),
    ops.HardSigmoid: lambda op: Activation("hard_sigmoid", (("alpha", op.alpha), ("beta", op.beta))),
    ops.HardSwish: lambda op: Activation("hard_swish"),
    ops.Swish: lambda op: Activation("swish", (("alpha", op.alpha),)),
    ops.Mish: lambda op: Activation("mish"),
    # The attribute picks the function: "gelu" (erf) or "gelu_tanh".
    ops.Gelu: lambda op: Activation("gelu" if op.approximate == "none" else "gelu_tanh"),
    **{cls: (lambda op: Activation(op.OP_NAME)) for cls in ops.UNARY_MATH},
}


def op_activation(op: Operation) -> Activation | None:
    """The activation an op carries in its ``activation`` attributes (see ir/ops/activation.py)."""
    kind = getattr(op, "activation", "none")
    if kind == "none":
        return None
    if kind == "relu":
        return Activation("relu")
    if kind == "clip":
        return Activation("clip", (("min", op.activation_min), ("max", op.activation_max)))
    if kind == "leaky_relu":
        return Activation("leaky_relu", (("alpha", op.activation_alpha),))
    raise UnsupportedError(f"{op.label}: fused activation '{kind}'")


@dataclass
class KernelCall:
    """One kernel invocation: named operand views and kernel parameters.

    ``kernel`` is a name of the kernel table (kernels.py), whose entry the roles and
    parameters must match: checked here, so a malformed call fails where it is built."""

    kernel: str
    reads: dict[str, View]
    writes: dict[str, View]
    params: dict[str, object] = field(default_factory=dict)

    def __post_init__(self):
        check_call(self)


@dataclass
class Layer:
    name: str                     # unique C identifier stem
    kind: str                     # "op", "load" or "store"
    comment: str                  # what the layer computes, for the generated code
    calls: list[KernelCall] = field(default_factory=list)
    op: Operation | None = None


@dataclass
class Program:
    name: str
    graph: Graph
    layers: list[Layer]
    inputs: list[Value]
    outputs: list[Value]
    arena: dict[str, Storage]            # activation buffers by name
    consts: dict[str, np.ndarray]        # data of const storages (logical row-major arrays)
    value_views: dict[str, View]         # final view of every value (for debugging/reports)

    def to_text(self, placement: "ArenaPlacement | None" = None) -> str:
        """The textual form (program_text.py), with arena offsets when ``placement`` is given."""
        return print_program(self, placement)

    def __str__(self) -> str:
        return self.to_text()

    def buffer_lifetimes(self) -> dict[str, tuple[int, int]]:
        """Layer index span (first, last) during which each arena buffer is live."""
        spans: dict[str, list[int]] = {}
        for i, layer in enumerate(self.layers):
            for call in layer.calls:
                for view in (*call.reads.values(), *call.writes.values()):
                    if view is not None and view.storage.kind == "arena":
                        span = spans.setdefault(view.storage.name, [i, i])
                        span[0] = min(span[0], i)
                        span[1] = max(span[1], i)
        return {name: (span[0], span[1]) for name, span in spans.items()}


# float16 only at the API and in casts (io_types.check_float16).
SUPPORTED_DTYPES = (DType.F32, DType.F16, DType.I8, DType.U8, DType.I16, DType.I32, DType.I64,
                    DType.BOOL)


def storage_dtype(dtype: DType) -> str:
    """The element type of a buffer holding ``dtype``: booleans are uint8 0/1 (the bytes
    onnxruntime and numpy store), so no kernel needs a C bool."""
    return "uint8" if dtype is DType.BOOL else dtype.numpy.name

SPATIAL_OPS = (ops.Conv2d, ops.ConvTranspose2d, ops.MaxPool2d, ops.AvgPool2d)

_IDENT = re.compile(r"[^A-Za-z0-9_]")


# C and C++ keywords (and names the generated code uses) that a user's name must not become.
_RESERVED = frozenset("""alignas alignof and asm auto bool break case catch char class const
constexpr continue decltype default delete do double else enum explicit export extern false
float for friend goto if inline int long mutable namespace new noexcept not nullptr operator or
private protected public register restrict return short signed sizeof static struct switch
template this throw true try typedef typeid typename union unsigned using virtual void volatile
while xor std arena main""".split())


def c_identifier(name: str) -> str:
    ident = _IDENT.sub("_", name) or "v"
    if ident[0].isdigit():
        ident = "_" + ident
    return ident + "_" if ident in _RESERVED else ident


class Lowering:
    """Builds a Program from a graph; one ``lower_*`` function per op class does the rest."""

    def __init__(self, graph: Graph, name: str, *, fuse: bool = True,
                 concat_in_place: bool = False):
        self.graph = graph
        self.name = name
        self.fuse = fuse
        self.layers: list[Layer] = []
        self.views: dict[int, View] = {}
        self.arena: dict[str, Storage] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.skip: set[int] = set()               # ops folded into a previous layer
        self._idents: set[str] = set()
        self._nhwc_copies: dict[int, View] = {}
        self._users: dict[int, list[Operation]] = {}
        for op in graph.ops:
            for v in op.inputs:
                lst = self._users.setdefault(id(v), [])
                if op not in lst:
                    lst.append(op)
        self.current: Layer | None = None
        # In-place concatenation: value -> (concat op, axis, start of its slice), and the
        # concat outputs allocated ahead of their op (by the first producer of a slice).
        self._slots: dict[int, tuple[Operation, int, int]] = {}
        self._preallocated: dict[int, View] = {}
        if concat_in_place:
            self._find_concat_slots()

    # -- in-place concatenation ----------------------------------------------------
    def _find_concat_slots(self) -> None:
        for op in self.graph.ops:
            if not isinstance(op, ops.Concat) or op.output.type.rank == 0:
                continue
            axis = op.axis % op.output.type.rank
            start = 0
            for v in op.inputs:
                if (v.producer is not None and not isinstance(v.producer, ops.Constant)
                        and not self.graph.is_output(v) and self.users(v) == [op]
                        and sum(1 for u in op.inputs if u is v) == 1 and v.type.size > 0):
                    self._slots[id(v)] = (op, axis, start)
                start += v.shape[axis]

    def _concat_view(self, concat: Operation) -> View:
        """The view of a Concat's result, allocated on first use (a slice of an outer
        Concat's buffer when the result is itself placed in place)."""
        out = concat.output
        view = self._preallocated.get(id(out))
        if view is None:
            slot = self._slots.get(id(out))
            if slot is not None:
                outer, axis, start = slot
                view = self._concat_view(outer).slice(axis, start, out.shape[axis])
            else:
                layout = "nhwc" if out.type.rank == 4 else "logical"
                storage = Storage("arena", self.ident(out.name), out.type.size,
                                  dtype=storage_dtype(out.type.dtype))
                self.arena[storage.name] = storage
                view = View.dense(storage, out.shape, layout)
            self._preallocated[id(out)] = view
        return view

    def _slot_view(self, value: Value) -> View | None:
        """The slice of a Concat buffer ``value`` is written into, when the op being lowered
        is one whose kernels address strided outputs (see IN_PLACE_PRODUCERS)."""
        slot = self._slots.get(id(value))
        op = self.current.op if self.current is not None else None
        if slot is None or not isinstance(op, IN_PLACE_PRODUCERS):
            return None
        concat, axis, start = slot
        return self._concat_view(concat).slice(axis, start, value.shape[axis])

    # -- names -------------------------------------------------------------------
    def ident(self, base: str) -> str:
        return unique_name(c_identifier(base), self._idents)

    # -- values ------------------------------------------------------------------
    def users(self, value: Value) -> list[Operation]:
        return self._users.get(id(value), [])

    def check_dtype(self, value: Value, op: Operation | None = None) -> None:
        if value.type.dtype not in SUPPORTED_DTYPES:
            where = op.label if op is not None else f"value %{value.name}"
            raise UnsupportedError(
                f"{where}: the C backends compute in float32, in booleans or in the integer "
                f"types of the quantized IR, but %{value.name} is {value.type.dtype.value}",
                hint="cast the model to float32, or quantize it")

    def view(self, value: Value) -> View:
        """The view of an operand; constants get a const storage on first use."""
        v = self.views.get(id(value))
        if v is not None:
            return v
        array = self.graph.constant_value(value)
        if array is None:
            raise UnsupportedError(f"value %{value.name} is read before it is computed")
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        if array.dtype.name not in ITEMSIZE:
            if array.dtype.kind not in "f":
                raise UnsupportedError(f"constant %{value.name} has element type {array.dtype}")
            array = array.astype(np.float32)
        storage = Storage("const", self.ident("c_" + value.name), int(array.size),
                          dtype=array.dtype.name)
        self.consts[storage.name] = np.ascontiguousarray(array)
        v = View.dense(storage, array.shape)
        self.views[id(value)] = v
        return v

    def constant(self, value: Value) -> np.ndarray | None:
        return self.graph.constant_value(value)

    def new_buffer(self, value: Value | None, shape, layout: str = "logical",
                   name: str | None = None, like_dtype: str | None = None) -> View:
        shape = tuple(int(d) for d in shape)
        size = 1
        for d in shape:
            size *= d
        dtype = storage_dtype(value.type.dtype) if value is not None else (like_dtype or "float32")
        storage = Storage("arena", self.ident(name or value.name), size, dtype=dtype)
        self.arena[storage.name] = storage
        view = View.dense(storage, shape, layout)
        if value is not None:
            self.views[id(value)] = view
        return view

    def output(self, value: Value, like: View | None = None, layout: str | None = None) -> View:
        """A fresh buffer for an op result, channel-last when ``like`` is (and ranks agree).

        A Concat input placed in place gets its slice of the Concat's buffer instead, and a
        Concat result allocated ahead of its op gets that buffer.
        """
        self.check_dtype(value)
        ahead = self._preallocated.get(id(value)) or self._slot_view(value)
        if ahead is not None:
            self.views[id(value)] = ahead
            return ahead
        if layout is None:
            layout = "nhwc" if (like is not None and value.type.rank == 4 and like.rank == 4
                                and like.is_nhwc() and not like.is_row_major()) else "logical"
        return self.new_buffer(value, value.shape, layout)

    def const_array(self, name: str, array: np.ndarray) -> View:
        """A const storage for an array the lowering derived (folded parameters)."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        storage = Storage("const", self.ident("c_" + name), int(array.size))
        self.consts[storage.name] = array
        return View.dense(storage, array.shape)

    def alias(self, value: Value, view: View) -> View:
        self.views[id(value)] = view
        return view

    def nhwc(self, value: Value) -> View:
        """A channel-last view of a 4-D operand, copying (once) when it is not one already."""
        view = self.view(value)
        if view.is_nhwc():
            return view
        cached = self._nhwc_copies.get(id(value))
        if cached is not None:
            return cached
        copy = self.new_buffer(None, value.shape, "nhwc", name=f"{value.name}_nhwc",
                               like_dtype=view.storage.dtype)
        self.emit(KernelCall("copy", {"x": view}, {"y": copy}))
        self._nhwc_copies[id(value)] = copy
        return copy

    # -- layers ------------------------------------------------------------------
    def begin(self, kind: str, base: str, comment: str, op: Operation | None = None) -> Layer:
        layer = Layer(self.ident(base), kind, comment, [], op)
        self.layers.append(layer)
        self.current = layer
        return layer

    def emit(self, call: KernelCall) -> KernelCall:
        assert self.current is not None
        self.current.calls.append(call)
        return call

    # -- fusion ------------------------------------------------------------------
    def epilogue(self, op: Operation, value: Value | None = None) -> tuple[Activation | None, Value]:
        """The activation ``op``'s kernel applies before storing, and the value it stores.

        That is the op's own fused activation (``activation`` attribute) if it has one,
        else an activation op that is the only user of the result (taken over).
        ``value`` is the result to start from (default: the op's result).
        """
        own = op_activation(op)
        value = op.outputs[0] if value is None else value
        if own is not None:
            return own, value
        return self.fused_activation(value)

    def fused_activation(self, value: Value) -> tuple[Activation | None, Value]:
        """If ``value``'s only user is an activation, take it over: (activation, its result)."""
        if not self.fuse or self.graph.is_output(value):
            return None, value
        users = self.users(value)
        if len(users) != 1:
            return None, value
        user = users[0]
        make = ACTIVATIONS.get(type(user))
        if make is None or id(user) in self.skip or user.inputs[0] is not value:
            return None, value
        self.skip.add(id(user))
        return make(user), user.output

    def single_user(self, value: Value, cls: type) -> Operation | None:
        if self.graph.is_output(value):
            return None
        users = self.users(value)
        if len(users) == 1 and isinstance(users[0], cls) and id(users[0]) not in self.skip:
            return users[0]
        return None


def describe(value: Value) -> str:
    return "x".join(str(d) for d in value.shape) or "scalar"


def preferred_input_layout(lowering: Lowering, value: Value) -> str:
    """Graph inputs are loaded channel-last when a convolution or pooling reads them."""
    if value.type.rank == 4 and any(isinstance(u, SPATIAL_OPS) for u in lowering.users(value)):
        return "nhwc"
    return "logical"


LOWERINGS: dict[type, Callable[[Lowering, Operation], None]] = {}


def lowers(*classes: type):
    def register(fn):
        for cls in classes:
            LOWERINGS[cls] = fn
        return fn
    return register


# Ops whose kernels write any strided output view (channel stride 1 for convolutions and
# pooling), so that their result may be a slice of a Concat buffer.
IN_PLACE_PRODUCERS: tuple[type, ...] = (
    ops.Conv2d, ops.MaxPool2d, ops.AvgPool2d, *ACTIVATIONS, ops.Add, ops.Sub, ops.Mul, ops.Div,
    ops.Max, ops.Min, ops.PRelu, ops.BatchNorm, ops.Quantize, ops.Dequantize, ops.Rescale,
    ops.Concat, ops.Gemm)


def lower_graph(graph: Graph, name: str = "network", *, fuse: bool = True,
                concat_in_place: bool = False) -> Program:
    """Lower a verified graph into a Program (see the module docstring)."""
    from . import lowering  # noqa: F401 (registers the per-op lowerings)
    from . import lower_indexing, lower_logic  # noqa: F401

    if fuse:
        graph = canonical_form(graph)
    low = Lowering(graph, name, fuse=fuse, concat_in_place=concat_in_place)
    if not graph.outputs:
        raise UnsupportedError(f"graph @{graph.name} has no outputs")

    low.begin("load", "load_inputs", "copy the inputs into the arena"
              + (" (NCHW -> NHWC where a convolution reads them)" if any(
                  preferred_input_layout(low, v) == "nhwc" for v in graph.inputs) else ""))
    # The API takes and returns each input and output in its own type (io_types.py).
    for index, value in enumerate(graph.inputs):
        low.check_dtype(value)
        src = View.dense(Storage("input", value.name, value.type.size, index,
                                 storage_dtype(value.type.dtype)), value.shape)
        dst = low.new_buffer(value, value.shape, preferred_input_layout(low, value))
        low.emit(KernelCall("copy", {"x": src}, {"y": dst}))

    for op in graph.ops:
        if id(op) in low.skip or isinstance(op, ops.Constant):
            continue
        fn = LOWERINGS.get(type(op))
        if fn is None:
            raise UnsupportedError(f"{op.label}: no C kernel for op '{op.OP_NAME}'")
        for v in op.outputs:
            low.check_dtype(v, op)
        check_float16(op)
        fn(low, op)

    low.begin("store", "store_outputs", "copy the results out of the arena"
              + (" (NHWC -> NCHW)" if any(low.view(v).is_nhwc() and not low.view(v).is_row_major()
                                          for v in graph.outputs) else ""))
    for index, value in enumerate(graph.outputs):
        src = low.view(value)
        low.check_dtype(value)
        dst = View.dense(Storage("output", value.name, value.type.size, index,
                                 storage_dtype(value.type.dtype)), value.shape)
        low.emit(KernelCall("copy", {"x": src}, {"y": dst}))

    views = {}
    for value in graph.values():
        if id(value) in low.views:
            views[value.name] = low.views[id(value)]
    program = Program(name, graph, low.layers, list(graph.inputs), list(graph.outputs),
                      low.arena, low.consts, views)
    verify_program(program)
    return program
