"""A small, deterministic ONNX graph writer: unique names, cached constants, nodes.

Everything is appended in the order the exporter asks for it and no name ever
depends on object ids or hashing, so the same IR graph gives the same bytes.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ...ir.names import unique_name
from ...ir.types import DType

#: IR element type -> ONNX TensorProto element type.
ONNX_DTYPES = {
    DType.F32: TensorProto.FLOAT, DType.F16: TensorProto.FLOAT16, DType.I8: TensorProto.INT8,
    DType.U8: TensorProto.UINT8, DType.I16: TensorProto.INT16, DType.I32: TensorProto.INT32,
    DType.I64: TensorProto.INT64, DType.BOOL: TensorProto.BOOL,
}

INT64 = TensorProto.INT64
INT32 = TensorProto.INT32
DOUBLE = TensorProto.DOUBLE
FLOAT = TensorProto.FLOAT


def readable(name: str) -> str:
    """``name`` as valid UTF-8 (protobuf strings must be); unpaired surrogates are escaped."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


class ModelWriter:
    """Collects nodes and initializers of one ONNX graph."""

    def __init__(self, reserved=()):
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.domains: dict[str, int] = {}
        self._tensor_names: set[str] = {readable(n) for n in reserved}
        self._node_names: set[str] = set()
        self._constants: dict[tuple, str] = {}

    # -- names ---------------------------------------------------------------------
    def claim(self, name: str) -> str:
        """Use exactly ``name`` (a reserved IR value name) for a tensor."""
        name = readable(name)
        self._tensor_names.add(name)
        return name

    def fresh(self, base: str) -> str:
        """A tensor name not used yet, built from ``base``."""
        return unique_name(readable(base) or "t", self._tensor_names)

    # -- content -------------------------------------------------------------------
    def initializer(self, array: np.ndarray, name: str) -> str:
        """Store ``array`` under the (already unique) tensor ``name``."""
        array = np.asarray(array)
        if not array.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
            array = array.copy(order="C")
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def const(self, array, base: str = "const", dtype=None) -> str:
        """An initializer holding ``array``; identical small constants are shared."""
        array = np.asarray(array, dtype=dtype)
        key = None
        if array.size <= 64:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._constants:
                return self._constants[key]
        name = self.initializer(array, self.fresh(base))
        if key is not None:
            self._constants[key] = name
        return name

    def node(self, op_type: str, inputs, outputs=1, *, name: str = "", domain: str = "",
             **attributes) -> list[str]:
        """Append a node; ``outputs`` is a list of names or a count of fresh ones
        (named after the node).  Returns the output names."""
        base = name or op_type
        node_name = unique_name(readable(base), self._node_names)
        if isinstance(outputs, int):
            outputs = [self.fresh(f"{base}:{i}" if outputs > 1 else base) for i in range(outputs)]
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), name=node_name,
                                           domain=domain or None, **attributes))
        if domain:
            self.domains.setdefault(domain, 1)
        return list(outputs)

    def op(self, op_type: str, *inputs, name: str = "", out: str | None = None,
           domain: str = "", **attributes) -> str:
        """A one-output node; returns its output name (``out`` or a fresh one)."""
        outputs = [out] if out is not None else 1
        return self.node(op_type, inputs, outputs, name=name, domain=domain, **attributes)[0]
