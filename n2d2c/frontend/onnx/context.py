"""State shared while importing one model, and the per-node view converters use."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from onnx import helper

from ...errors import ResourceLimitError, ShapeError, UnsupportedError
from ...ir import DType, Graph, Operation, Value
from ...ir.names import unique_name
from .errors import node_label
from .io_types import float32_constant
from .registry import takes_any_dtype


def byte_limit(limit: int):
    """check(nbytes, what): ResourceLimitError if one constant would exceed ``limit``."""
    def check(nbytes: int, what: str) -> None:
        if nbytes > limit:
            raise ResourceLimitError(
                f"{what} needs {nbytes} bytes, more than the limit of {limit} bytes "
                "for one constant",
                hint="raise the limit with --max-constant-bytes if the model is trusted")
    return check


class ImportState:
    """Everything known about the tensors of the model being imported.

    A tensor is either a compile-time constant (``consts``: initializers,
    Constant nodes, folded shape computations) or a run-time IR value
    (``values``).  Constants become IR ``constant`` ops only when a run-time op
    reads them, so shape tensors that are consumed at import leave no trace.
    """

    def __init__(self, graph: Graph, opset: int, onnx_names: set[str], max_constant_bytes: int):
        self.graph = graph
        self.opset = opset
        self.check_bytes = byte_limit(max_constant_bytes)
        self.consts: dict[str, np.ndarray] = {}
        self.values: dict[str, Value] = {}
        self.producer: dict[str, str] = {}  # tensor name -> label of the node making it
        self.used: set[str] = set()  # tensors read by some node or graph output
        # Tensor -> its float16 value, where the float32 value in ``values`` is a cast of
        # it (a float16 graph input, a Cast to float16): see io_types.py.
        self.float16: dict[str, Value] = {}
        # Constants recorded as float32 although the model declares them float16: what
        # CastLike reads as its target type.
        self.declared: dict[str, np.dtype] = {}
        # Names the IR must not invent for its helper values, so that every ONNX
        # tensor keeps its own name in the graph.
        self._taken = set(onnx_names)

    def fresh(self, base: str) -> str:
        return unique_name(base, self._taken)

    def set_const(self, name: str, array: np.ndarray, producer: str) -> None:
        self.check_bytes(array.nbytes, f"tensor '{name}' made by {producer}")
        converted = float32_constant(array)
        if converted is not array:
            self.declared[name] = array.dtype
        array = converted
        self.consts[name] = array
        self.producer[name] = producer

    def runtime_value(self, name: str, user: str, any_dtype: bool = False) -> Value:
        """The IR value of tensor ``name``, creating a constant op on first run-time use.
        A constant must be float32 unless ``any_dtype`` (and an element type of the IR)."""
        if name in self.values:
            return self.values[name]
        array = self.consts[name]
        if array.dtype != np.float32 and not (any_dtype and _ir_type(array.dtype)):
            raise UnsupportedError(
                f"{user} reads '{name}', a tensor of element type {array.dtype}, at run "
                "time; n2d2c computes float32 tensors only")
        if not (array.flags.owndata and array.flags.writeable and array.flags.c_contiguous):
            # Decoded tensors are read-only views of protobuf bytes, folded ones may
            # share memory: give the graph its own array, so passes may edit it.
            array = np.array(array, order="C", copy=True)
        value = self.graph.constant(array, name)
        self.values[name] = value
        return value


def _ir_type(dtype: np.dtype) -> bool:
    try:
        DType.from_numpy(dtype)
    except KeyError:
        return False
    return True


class NodeContext:
    """One ONNX node as its converter sees it: attributes, inputs, emitters."""

    def __init__(self, state: ImportState, node, name: str):
        self.state = state
        self.node = node
        self.name = name
        self.op_type = node.op_type
        self.opset = state.opset
        self.graph = state.graph
        self.label = node_label(name, node.op_type)
        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}

    # -- attributes -----------------------------------------------------------------
    def attr(self, key: str, default=None):
        value = self.attrs.get(key, default)
        return value.decode() if isinstance(value, bytes) else value

    def ints(self, key: str, default=None) -> tuple[int, ...] | None:
        value = self.attrs.get(key)
        return default if value is None else tuple(int(v) for v in value)

    # -- inputs -----------------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return len(self.node.input)

    def has(self, i: int) -> bool:
        return i < len(self.node.input) and self.node.input[i] != ""

    def is_const(self, i: int) -> bool:
        return self.has(i) and self.node.input[i] in self.state.consts

    def const(self, i: int) -> np.ndarray | None:
        return self.state.consts.get(self.node.input[i]) if self.has(i) else None

    def declared_dtype(self, i: int) -> np.dtype:
        """The element type the model gives constant input ``i`` (float16 constants are
        held as float32: io_types.float32_constant)."""
        name = self.node.input[i]
        return self.state.declared.get(name, self.state.consts[name].dtype)

    def static(self, i: int, what: str) -> np.ndarray:
        """Input ``i``, which must be known at compile time (a shape, axes, scales ...)."""
        if not self.has(i):
            raise self.unsupported(f"input #{i} ({what}) is missing")
        array = self.const(i)
        if array is None:
            name = self.node.input[i]
            made_by = self.state.producer.get(name)
            source = f"computed at run time by {made_by}" if made_by else "a run-time graph input"
            raise self.unsupported(
                f"input '{name}' ({what}) must be known at compile time, but it is {source}")
        return array

    def static_ints(self, i: int, what: str) -> tuple[int, ...]:
        array = self.static(i, what)
        if array.dtype.kind not in "iu":
            raise self.unsupported(f"{what} must be integers, got {array.dtype}")
        return tuple(int(v) for v in array.reshape(-1))

    def static_scalar(self, i: int, what: str) -> float:
        array = self.static(i, what)
        if array.size != 1:
            raise self.unsupported(f"{what} must be a scalar, got shape {list(array.shape)}")
        return float(array.reshape(-1)[0])

    def value(self, i: int) -> Value:
        """Input ``i`` as a run-time IR value (constants become constant ops)."""
        if not self.has(i):
            raise self.unsupported(f"required input #{i} is missing")
        return self.state.runtime_value(self.node.input[i], self.label,
                                        takes_any_dtype(self.op_type, i))

    def shape(self, i: int) -> tuple[int, ...]:
        name = self.node.input[i]
        if name in self.state.values:
            return self.state.values[name].shape
        return tuple(self.state.consts[name].shape)

    def rank(self, i: int) -> int:
        return len(self.shape(i))

    # -- results ----------------------------------------------------------------------
    def emit(self, op: Operation, inputs: Sequence[Value], *, suffix: str | None = None,
             outputs: int | Sequence[int] | None = 0) -> Operation:
        """Add ``op`` to the graph.

        The op is named after the node (``suffix`` tells helper ops apart:
        ``conv1.in``).  ``outputs`` says which ONNX results it produces (they keep
        their ONNX names); ``None`` makes an intermediate value named after the op.
        """
        op.name = self.name if suffix is None else f"{self.name}.{suffix}"
        if outputs is None:
            names = [self.state.fresh(op.name)]
        else:
            indices = [outputs] if isinstance(outputs, int) else list(outputs)
            names = [self.node.output[k] for k in indices]
        self.graph.add(op, inputs, names)
        if outputs is not None:
            for k, v in zip(indices, op.outputs):
                self.set_output(k, v)
        return op

    def constant(self, array: np.ndarray, suffix: str) -> Value:
        """A new constant op (e.g. reshaped weights) named ``<node>.<suffix>``."""
        return self.graph.constant(np.array(array, order="C", copy=True),
                                   self.state.fresh(f"{self.name}.{suffix}"))

    def set_output(self, k: int, value: Value) -> None:
        name = self.node.output[k]
        self.state.values[name] = value
        self.state.producer[name] = self.label

    def set_const(self, k: int, array: np.ndarray) -> None:
        self.state.set_const(self.node.output[k], np.asarray(array), self.label)

    # -- errors -----------------------------------------------------------------------
    def unsupported(self, message: str) -> UnsupportedError:
        return UnsupportedError(f"node {self.label}: {message}")

    def shape_error(self, message: str) -> ShapeError:
        return ShapeError(f"node {self.label}: {message}")

    def check_alloc(self, shape: Sequence[int], dtype, what: str = "its result") -> None:
        """Refuse to fold a tensor larger than the constant limit before allocating it."""
        if any(d < 0 for d in shape):
            raise self.shape_error(f"negative dimension in shape {list(shape)}")
        nbytes = int(np.prod([int(d) for d in shape], dtype=object)) * np.dtype(dtype).itemsize
        self.state.check_bytes(nbytes, f"{what} of node {self.label}")
