"""IR ops -> calls of the generated ``NetworkBuilder`` (templates/tensorrt/builder.*),
one handler per op family; each call is one TensorRT layer or a short fixed chain.

``NetworkWriter`` walks the graph in order and names every value ``t[i]``; constants
become files under ``weights/`` (written by ``project.py``), referenced by file name
and loaded into the compute type when the engine is built.  Dims whose axis 0 is
the batch (``batching.py``) are spelled ``b.B``, so ``-batch N`` rebuilds the same
network for N samples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...errors import UnsupportedError
from ...ir import Graph, Operation, Value
from ...ir.types import DType
from ...passes.batch_axes import BatchAxes
from .coverage import PLUGIN_UNARY

TRT_TYPES = {DType.F32: "kFLOAT", DType.F16: "kFLOAT", DType.I8: "kINT8", DType.U8: "kUINT8",
             DType.I32: "kINT32", DType.I64: "kINT64", DType.BOOL: "kBOOL"}
def trt_type(dtype: DType, where: str) -> str:
    if dtype not in TRT_TYPES:
        raise UnsupportedError(f"{where}: TensorRT has no {dtype.value} tensors")
    return TRT_TYPES[dtype]


HANDLERS: dict[str, Callable[["NetworkWriter", Operation], None]] = {}


def handles(*names: str):
    def register(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return register


def cstr(text: str) -> str:
    """A C++ string literal (JSON escapes are valid C++ escapes for these)."""
    return json.dumps(text, ensure_ascii=True)


def cfloat(value: float) -> str:
    value = float(value)
    if np.isinf(value):
        return "-3.402823466e+38f" if value < 0 else "3.402823466e+38f"
    return f"{np.float32(value)!r}".replace("np.float32(", "").rstrip(")") + "f"


@dataclass
class Layer:
    comment: str
    lines: list[str] = field(default_factory=list)


@dataclass
class ConstantFile:
    file: str
    name: str
    array: np.ndarray


class NetworkWriter:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.batch = BatchAxes(graph)
        self.index: dict[int, int] = {}
        self.files: dict[object, ConstantFile] = {}
        self.layers: list[Layer] = []
        self.current: Layer | None = None

    # -- names -----------------------------------------------------------------
    def slot(self, v: Value) -> str:
        if id(v) not in self.index:
            self.index[id(v)] = len(self.index)
        return f"t[{self.index[id(v)]}]"

    def file(self, v: Value) -> str:
        """The weights file of constant ``v`` (float data as float32)."""
        if id(v) not in self.files:
            array = self.graph.constant_value(v)
            if array is None:
                raise UnsupportedError(f"%{v.name}: the tensorrt backend needs it constant")
            array = np.ascontiguousarray(array)
            if array.dtype == np.float16 or array.dtype == np.float64:
                array = array.astype(np.float32)
            self.files[id(v)] = ConstantFile(f"c{len(self.files)}.bin", v.name, array)
        return self.files[id(v)].file

    def extra_file(self, name: str, array: np.ndarray) -> str:
        """A weights file for an array the emitter computes (folded scales, masks)."""
        key = len(self.files)
        file = f"c{key}.bin"
        self.files[("extra", key)] = ConstantFile(file, name, np.ascontiguousarray(array))
        return file

    def tensor(self, v: Value) -> str:
        """``t[i]`` of ``v``, adding the constant layer the first time a constant is used."""
        name = self.slot(v)
        if self.graph.constant_value(v) is not None and id(v) not in self.files:
            kind = "kFLOAT" if v.type.dtype.is_float else trt_type(v.type.dtype, f"%{v.name}")
            self.emit(f"{name} = b.constant({cstr(self.file(v))}, {self.dims(v.shape)}, "
                      f"DataType::{kind});")
        return name

    def dims(self, shape, batched: bool = False) -> str:
        extents = [str(int(d)) for d in shape]
        if batched and extents:
            extents[0] = "b.B"
        return "dims({" + ", ".join(extents) + "})"

    def out_dims(self, v: Value) -> str:
        return self.dims(v.shape, self.batch.is_batched(v))

    def emit(self, line: str) -> None:
        self.current.lines.append(line)

    def result(self, op: Operation, call: str, index: int = 0) -> None:
        self.emit(f"{self.slot(op.outputs[index])} = {call};")

    # -- walk --------------------------------------------------------------------
    def write(self) -> list[Layer]:
        self.current = Layer("inputs")
        self.layers.append(self.current)
        for v in self.graph.inputs:
            self.emit(f"{self.slot(v)} = b.input({cstr(v.name)}, DataType::"
                      f"{trt_type(v.type.dtype, f'input %{v.name}')}, {self.out_dims(v)});")
        refused = []
        for op in self.graph.ops:
            if op.OP_NAME == "constant":
                continue  # added where first used (HANDLERS["constant"] is this skip)
            self.current = Layer(op.label)
            self.layers.append(self.current)
            try:
                HANDLERS[op.OP_NAME](self, op)
            except UnsupportedError as exc:  # attribute values TensorRT has no layer for
                refused.append(exc.message)
        if refused:
            raise UnsupportedError(f"the tensorrt backend cannot map {len(refused)} node(s): "
                                   + "; ".join(refused))
        self.current = Layer("outputs")
        self.layers.append(self.current)
        for v in self.graph.outputs:
            self.emit(f"b.output({self.tensor(v)}, {cstr(v.name)}, DataType::"
                      f"{trt_type(v.type.dtype, f'output %{v.name}')});")
        return self.layers

    def label(self, op: Operation) -> str:
        return cstr(op.name or op.outputs[0].name)


# -- activations and elementwise math ------------------------------------------------
ACTIVATIONS = {"relu": ("kRELU", None, None), "sigmoid": ("kSIGMOID", None, None),
               "tanh": ("kTANH", None, None), "softplus": ("kSOFTPLUS", 1.0, 1.0)}
UNARY = {"abs": "kABS", "ceil": "kCEIL", "floor": "kFLOOR", "exp": "kEXP", "log": "kLOG",
         "neg": "kNEG", "not": "kNOT", "reciprocal": "kRECIP", "sqrt": "kSQRT", "erf": "kERF",
         "sign": "kSIGN"}
BINARY = {"add": "kSUM", "sub": "kSUB", "mul": "kPROD", "div": "kDIV", "pow": "kPOW",
          "max": "kMAX", "min": "kMIN", "equal": "kEQUAL", "greater": "kGREATER",
          "less": "kLESS", "and": "kAND", "or": "kOR", "xor": "kXOR"}


def activation(w: NetworkWriter, x: str, kind: str, alpha, beta, label: str) -> str:
    return (f"b.activation({x}, ActivationType::{kind}, {cfloat(alpha or 0.0)}, "
            f"{cfloat(beta or 0.0)}, {label})")


def fused(w: NetworkWriter, op: Operation, y: str) -> str:
    """``y`` with the op's fused activation (fuse-activation output) applied."""
    kind = getattr(op, "activation", "none")
    label = w.label(op)
    if kind == "none":
        return y
    if kind == "relu":
        return activation(w, y, "kRELU", 0, 0, label)
    if kind == "leaky_relu":
        return activation(w, y, "kLEAKY_RELU", op.activation_alpha, 0, label)
    if kind == "clip":
        return activation(w, y, "kCLIP", op.activation_min, op.activation_max, label)
    raise UnsupportedError(f"{op.label}: fused activation {kind!r} is not mapped to TensorRT")


@handles(*ACTIVATIONS)
def _activation(w, op):
    kind, alpha, beta = ACTIVATIONS[op.OP_NAME]
    w.result(op, activation(w, w.tensor(op.inputs[0]), kind, alpha, beta, w.label(op)))


@handles("leaky_relu")
def _leaky(w, op):
    w.result(op, activation(w, w.tensor(op.inputs[0]), "kLEAKY_RELU", op.alpha, 0, w.label(op)))


@handles("clip")
def _clip(w, op):
    w.result(op, activation(w, w.tensor(op.inputs[0]), "kCLIP", op.min, op.max, w.label(op)))


@handles("hard_sigmoid")
def _hard_sigmoid(w, op):
    w.result(op, activation(w, w.tensor(op.inputs[0]), "kHARD_SIGMOID", op.alpha, op.beta,
                            w.label(op)))


@handles("gelu")
def _gelu(w, op):
    kind = "kGELU_TANH" if op.approximate == "tanh" else "kGELU_ERF"
    w.result(op, activation(w, w.tensor(op.inputs[0]), kind, 0, 0, w.label(op)))


@handles("hard_swish", "swish")
def _gated(w, op):
    x, label = w.tensor(op.inputs[0]), w.label(op)
    if op.OP_NAME == "hard_swish":   # x * hard_sigmoid(x; 1/6, 1/2)
        gate = activation(w, x, "kHARD_SIGMOID", 1.0 / 6.0, 0.5, label)
    else:                            # x * sigmoid(alpha x)
        scaled = x if op.alpha == 1.0 else (
            f"b.binary({x}, b.scalar({cfloat(op.alpha)}, {op.inputs[0].type.rank}), "
            f"ElementWiseOperation::kPROD, {label})")
        gate = activation(w, scaled, "kSIGMOID", 0, 0, label)
    w.result(op, f"b.binary({x}, {gate}, ElementWiseOperation::kPROD, {label})")


@handles(*PLUGIN_UNARY)
def _plugin_unary(w, op):
    code = PLUGIN_UNARY[op.OP_NAME][0]
    w.result(op, f"b.plugin({w.tensor(op.inputs[0])}, kUnaryPlugin, {code}, {w.label(op)})")


@handles(*UNARY)
def _unary(w, op):
    w.result(op, f"b.unary({w.tensor(op.inputs[0])}, UnaryOperation::{UNARY[op.OP_NAME]}, "
                 f"{w.label(op)})")


@handles(*BINARY)
def _binary(w, op):
    a, b = (w.tensor(v) for v in op.inputs)
    w.result(op, fused(w, op, f"b.binary({a}, {b}, ElementWiseOperation::"
                              f"{BINARY[op.OP_NAME]}, {w.label(op)})"))


@handles("greater_equal", "less_equal")
def _compare_or_equal(w, op):
    a, b = (w.tensor(v) for v in op.inputs)
    strict = "kLESS" if op.OP_NAME == "greater_equal" else "kGREATER"
    w.result(op, f"b.unary(b.binary({a}, {b}, ElementWiseOperation::{strict}, {w.label(op)}), "
                 f"UnaryOperation::kNOT, {w.label(op)})")


@handles("where")
def _where(w, op):
    c, a, b = (w.tensor(v) for v in op.inputs)
    w.result(op, f"b.select({c}, {a}, {b}, {w.label(op)})")


@handles("cast")
def _cast(w, op):
    dtype = DType(op.dtype)
    target = "b.floatType()" if dtype.is_float else f"DataType::{trt_type(dtype, op.label)}"
    w.result(op, f"b.cast({w.tensor(op.inputs[0])}, {target}, {w.label(op)})")


@handles("identity", "dropout")
def _identity(w, op):
    w.result(op, f"b.identity({w.tensor(op.inputs[0])}, {w.label(op)})")


@handles("constant")
def _constant(w, op):
    """Constants become weights files or constant layers where they are used."""


@handles("prelu")
def _prelu(w, op):
    x, slope = (w.tensor(v) for v in op.inputs)
    w.result(op, f"b.prelu({x}, {slope}, {w.label(op)})")


# The other families register their handlers when imported (they import this module).
from . import layers_nn, layers_shape  # noqa: E402
HANDLER_MODULES = (__name__, layers_nn.__name__, layers_shape.__name__)
