"""IR -> ONNX: graph inputs/outputs, constants and every float op.

``Exporter`` walks the IR in order and keeps, for each IR value, the name of
the ONNX tensor holding it with the IR element type (the *value tensor*; it
carries the IR value's own name).  Integer ops are left to the subclasses of
the two quantized forms (``qdq.py``, ``qop.py``); a float graph needs neither.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import onnx
from onnx import helper

from ...errors import InternalError, UnsupportedError
from ...ir import Graph, Layout, Operation, Value, verify
from ...ir import ops as O
from ...ir.types import DType
from ...version import __version__
from .writer import ONNX_DTYPES, ModelWriter

OPSET = 21          # QuantizeLinear/DequantizeLinear on int16, Resize half_pixel_symmetric
IR_VERSION = 10     # the ONNX IR version that goes with opset 21
INT64_MIN = -(1 << 63)

_BINARY = {O.Add: "Add", O.Sub: "Sub", O.Mul: "Mul", O.Div: "Div", O.Max: "Max", O.Min: "Min",
           O.Pow: "Pow"}
_UNARY = {O.Relu: "Relu", O.Sigmoid: "Sigmoid", O.Tanh: "Tanh", O.HardSwish: "HardSwish",
          O.Mish: "Mish", O.Sqrt: "Sqrt", O.Reciprocal: "Reciprocal", O.Exp: "Exp",
          O.Log: "Log", O.Erf: "Erf", O.Abs: "Abs", O.Neg: "Neg", O.Floor: "Floor",
          O.Ceil: "Ceil",
          O.Identity: "Identity", O.Dropout: "Identity"}
if hasattr(O, "Softplus"):  # added to the IR after this backend was written
    _UNARY[O.Softplus] = "Softplus"
# Comparisons, logic, Where, Sign, Cast, ArgMax/ArgMin (ir/ops/logic.py): their bool and
# integer tensors are plain ONNX tensors of their own type in every form (never quantized
# values), and their IR class names are their ONNX op types.
_ANY_TYPE = (*O.COMPARISONS, *O.LOGICAL, O.Where, O.Sign, O.Cast, *O.ARG_REDUCTIONS)


def index_values(graph: Graph) -> set[int]:
    """ids of the i64 index tensors of max unpooling (a pool's indices, an unpooling's
    indices operand, and their reshapes) and of the gathers' indices: plain ONNX tensors
    in the float form, not quantized values."""
    found = {id(op.outputs[1]) for op in graph.ops_of(O.MaxPool2dWithIndices)}
    found |= {id(op.inputs[1]) for op in graph.ops_of(O.MaxUnpool2d, O.Gather, O.GatherElements)}
    views = graph.ops_of(O.Reshape, O.Identity)
    grew = True
    while grew:
        grew = False
        for op in views:
            ends = {id(op.inputs[0]), id(op.output)}
            if ends & found and not ends <= found:
                found |= ends
                grew = True
    return found


class Exporter:
    """Float IR -> ONNX; subclasses add the integer ops of a quantized form."""

    form = "float"

    def __init__(self, graph: Graph, name: str = "network"):
        self.g = graph
        self.name = name
        self.w = ModelWriter(reserved=[v.name for v in graph.values()])
        self.tensors: dict[int, str] = {}
        self.notes: list[str] = []
        self.indices = index_values(graph)
        self._float_handlers: dict[type, Callable] = {
            O.Conv2d: self._conv, O.ConvTranspose2d: self._conv_transpose, O.Gemm: self._gemm,
            O.MatMul: self._simple("MatMul"), O.BatchNorm: self._batch_norm, O.LRN: self._lrn,
            O.PRelu: self._simple("PRelu"), O.LeakyRelu: self._leaky_relu, O.Clip: self._clip,
            O.HardSigmoid: self._hard_sigmoid, O.Softmax: self._softmax,
            O.LogSoftmax: self._softmax, O.MaxPool2d: self._pool, O.AvgPool2d: self._pool,
            O.MaxPool2dWithIndices: self._pool, O.MaxUnpool2d: self._max_unpool,
            O.GlobalAvgPool: self._simple("GlobalAveragePool"),
            O.GlobalMaxPool: self._simple("GlobalMaxPool"), O.Concat: self._concat,
            O.Reshape: self._reshape, O.Transpose: self._transpose, O.Slice: self._slice,
            O.Split: self._split, O.Pad: self._pad, O.Resize: self._resize,
            **{cls: self._reduce for cls in O.REDUCTIONS},
            O.Gather: self._gather, O.GatherElements: self._gather, O.Expand: self._expand,
            O.Tile: self._tile, O.DepthToSpace: self._block_shuffle,
            O.SpaceToDepth: self._block_shuffle, O.Trilu: self._trilu, O.Swish: self._swish,
            O.Gelu: self._gelu,
        }
        for cls, op_type in _BINARY.items():
            self._float_handlers.setdefault(cls, self._binary(op_type))
        for cls, op_type in _UNARY.items():
            self._float_handlers[cls] = self._simple(op_type)
        for cls in _ANY_TYPE:
            self._float_handlers[cls] = self._any_type

    # -- driver ----------------------------------------------------------------------
    def export(self) -> onnx.ModelProto:
        g = self.g
        verify(g)
        for op in g.ops:
            for v in (*op.inputs, *op.outputs):
                if v.type.layout is not Layout.NCHW and v.type.rank == 4:
                    raise UnsupportedError(f"{op.label}: the onnx backend exports NCHW graphs, "
                                           f"but %{v.name} is {v.type}", location=op.name or None)
        inputs = []
        for v in g.inputs:
            self.tensors[id(v)] = self.w.claim(v.name)
            inputs.append(self._value_info(v))
        self.prepare()
        for op in g.ops:
            if isinstance(op, O.Constant):
                continue  # written when first read
            self.lower(op)
        outputs = []
        seen: set[str] = set()
        for v in g.outputs:
            name = self.output_tensor(v)
            if name in seen:  # the same value listed twice: ONNX names must differ
                name = self.w.op("Identity", name, out=self.w.fresh(v.name))
            seen.add(name)
            outputs.append(self._value_info(v, name))
        graph = helper.make_graph(self.w.nodes, self.name, inputs, outputs,
                                  initializer=self.w.initializers)
        opsets = [helper.make_opsetid("", OPSET)]
        opsets += [helper.make_opsetid(d, v) for d, v in sorted(self.w.domains.items())]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="n2d2c",
                                  producer_version=__version__)
        model.ir_version = IR_VERSION
        model.doc_string = f"exported by n2d2c from IR graph @{g.name} ({self.form} form)"
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as exc:
            raise InternalError(f"the exported ONNX model fails onnx.checker: {exc}") from None
        return model

    def prepare(self) -> None:
        """Hook run after the inputs are bound, before the first op."""

    def lower(self, op: Operation) -> None:
        values = [v for v in (*op.inputs, *op.outputs)
                  if id(v) not in self.indices and not isinstance(op, _ANY_TYPE)]
        if isinstance(op, (O.Quantize, O.Dequantize, O.Rescale)) or any(
                v.type.dtype.is_integer for v in values):
            handler = self.integer_handler(op)
            if handler is None:
                raise self.unsupported(op, "on integer operands")
            handler(op)
            return
        if not all(v.type.dtype.is_float for v in values):
            raise self.unsupported(op, f"on {sorted({v.type.dtype.value for v in values})} "
                                       "operands")
        handler = self._float_handlers.get(type(op))
        if handler is None:
            raise self.unsupported(op)
        ins = [self.value(v) for v in op.inputs]
        outs = [self.w.claim(v.name) for v in op.outputs]
        handler(op, ins, outs)
        for v, name in zip(op.outputs, outs):
            self.tensors[id(v)] = name

    def integer_handler(self, op: Operation) -> Callable | None:
        return None

    def unsupported(self, op: Operation, detail: str = "") -> UnsupportedError:
        form = "" if self.form == "float" else f" in the {self.form} form"
        return UnsupportedError(
            f"op '{op.OP_NAME}' (node '{op.name}') {detail + ' ' if detail else ''}"
            f"has no ONNX mapping{form}", location=op.name or None,
            hint="run it through the simulator or another backend, or rewrite the graph "
                 "without it")

    # -- values --------------------------------------------------------------------------
    def value(self, v: Value) -> str:
        """The ONNX tensor holding ``v`` with its IR element type."""
        name = self.tensors.get(id(v))
        if name is not None:
            return name
        const = self.g.constant_value(v)
        if const is not None:
            name = self.w.initializer(np.asarray(const, v.type.dtype.numpy), self.w.claim(v.name))
            self.tensors[id(v)] = name
            return name
        return self.materialize(v)

    def materialize(self, v: Value) -> str:
        raise InternalError(f"%{v.name} was read before the exporter defined it")

    def output_tensor(self, v: Value) -> str:
        return self.value(v)

    def _value_info(self, v: Value, name: str | None = None) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name or self.w.claim(v.name),
                                             ONNX_DTYPES[v.type.dtype], list(v.type.shape))

    def scalar(self, value, v: Value | DType | np.dtype, base: str = "c") -> str:
        """A 0-d constant of ``v``'s element type."""
        dtype = v.type.dtype.numpy if isinstance(v, Value) else (
            v.numpy if isinstance(v, DType) else np.dtype(v))
        return self.w.const(np.array(value, dtype=dtype), base)

    @staticmethod
    def float_like(v: Value) -> Value | DType:
        """``v`` for constants of its type, or f32 when a float op reads its real value."""
        return v if v.type.dtype.is_float else DType.F32

    def ints(self, values, base: str = "shape") -> str:
        return self.w.const(np.asarray(list(values), np.int64).reshape(-1), base)

    # -- fused activations -------------------------------------------------------------
    def activation(self, op: Operation, x: str, out: str, like: Value) -> None:
        kind = getattr(op, "activation", "none")
        if kind == "none":
            self.w.op("Identity", x, out=out, name=f"{op.name}/identity")
        elif kind == "relu":
            self.w.op("Relu", x, out=out, name=f"{op.name}/relu")
        elif kind == "leaky_relu":
            self.w.op("LeakyRelu", x, out=out, name=f"{op.name}/leaky_relu",
                      alpha=float(op.activation_alpha))
        elif kind == "clip":
            self.clip(x, op.activation_min, op.activation_max, like, out, f"{op.name}/clip")
        else:
            raise self.unsupported(op, f"with fused activation {kind!r}")

    def with_activation(self, op: Operation, outs: list[str]) -> str:
        """Where the main node of ``op`` writes: its output, or a temporary that the
        fused activation then reads."""
        if getattr(op, "activation", "none") == "none":
            return outs[0]
        return self.w.fresh(f"{op.outputs[0].name}.preact")

    def finish_activation(self, op: Operation, main_out: str, outs: list[str]) -> None:
        if main_out != outs[0]:
            self.activation(op, main_out, outs[0], op.outputs[0])

    def clip(self, x: str, lo: float, hi: float, like: Value, out: str | None = None,
             name: str = "clip") -> str:
        lo_name = "" if lo == -math.inf else self.scalar(lo, like, "clip_min")
        hi_name = "" if hi == math.inf else self.scalar(hi, like, "clip_max")
        inputs = [x, lo_name, hi_name]
        while inputs[-1] == "":
            inputs.pop()
        return self.w.op("Clip", *inputs, out=out, name=name)

    # -- float handlers: (op, input names, output names) ------------------------------------
    def _simple(self, op_type: str):
        def handler(op, ins, outs):
            self.w.node(op_type, ins, outs, name=op.name)
        return handler

    def _binary(self, op_type: str):
        def handler(op, ins, outs):
            main = self.with_activation(op, outs)
            self.w.node(op_type, ins, [main], name=op.name)
            self.finish_activation(op, main, outs)
        return handler

    def _conv(self, op: O.Conv2d, ins, outs):
        main = self.with_activation(op, outs)
        kernel = list(op.inputs[1].type.shape[2:])
        self.w.node("Conv", ins, [main], name=op.name, kernel_shape=kernel,
                    strides=list(op.strides), pads=list(op.pads), dilations=list(op.dilations),
                    group=int(op.group))
        self.finish_activation(op, main, outs)

    def _conv_transpose(self, op: O.ConvTranspose2d, ins, outs):
        main = self.with_activation(op, outs)
        kernel = list(op.inputs[1].type.shape[2:])
        self.w.node("ConvTranspose", ins, [main], name=op.name, kernel_shape=kernel,
                    strides=list(op.strides), pads=list(op.pads), dilations=list(op.dilations),
                    output_padding=list(op.output_padding), group=int(op.group))
        self.finish_activation(op, main, outs)

    def _gemm(self, op: O.Gemm, ins, outs):
        main = self.with_activation(op, outs)
        self.w.node("Gemm", ins, [main], name=op.name, alpha=float(op.alpha),
                    beta=float(op.beta), transA=int(op.trans_a), transB=int(op.trans_b))
        self.finish_activation(op, main, outs)

    def _batch_norm(self, op: O.BatchNorm, ins, outs):
        self.w.node("BatchNormalization", ins, outs, name=op.name, epsilon=float(op.epsilon))

    def _lrn(self, op: O.LRN, ins, outs):
        self.w.node("LRN", ins, outs, name=op.name, size=int(op.size), alpha=float(op.alpha),
                    beta=float(op.beta), bias=float(op.bias))

    def _leaky_relu(self, op: O.LeakyRelu, ins, outs):
        self.w.node("LeakyRelu", ins, outs, name=op.name, alpha=float(op.alpha))

    def _hard_sigmoid(self, op: O.HardSigmoid, ins, outs):
        self.w.node("HardSigmoid", ins, outs, name=op.name, alpha=float(op.alpha),
                    beta=float(op.beta))

    def _swish(self, op: O.Swish, ins, outs):
        # ONNX has Swish only from opset 24 (this backend writes 21): x * sigmoid(alpha x).
        scaled = ins[0] if op.alpha == 1.0 else self.w.op(
            "Mul", ins[0], self.scalar(op.alpha, op.inputs[0], "alpha"), name=f"{op.name}/scale")
        gate = self.w.op("Sigmoid", scaled, name=f"{op.name}/sigmoid")
        self.w.node("Mul", [ins[0], gate], outs, name=op.name)

    def _gelu(self, op, ins, outs):
        self.w.node("Gelu", ins, outs, name=op.name, approximate=op.approximate)  # opset 20

    def _clip(self, op: O.Clip, ins, outs):
        self.clip(ins[0], op.min, op.max, self.float_like(op.inputs[0]), outs[0], op.name)

    def _softmax(self, op, ins, outs):
        op_type = "Softmax" if isinstance(op, O.Softmax) else "LogSoftmax"
        self.w.node(op_type, ins, outs, name=op.name, axis=int(op.axis))

    def _pool(self, op, ins, outs):
        attrs = dict(kernel_shape=list(op.kernel), strides=list(op.strides), pads=list(op.pads),
                     ceil_mode=int(op.ceil_mode))
        if any(d != 1 for d in op.dilations):
            attrs["dilations"] = list(op.dilations)
        if isinstance(op, O.AvgPool2d):
            self.w.node("AveragePool", ins, outs, name=op.name,
                        count_include_pad=int(op.count_include_pad), **attrs)
        elif isinstance(op, O.MaxPool2dWithIndices):
            self.w.node("MaxPool", ins, outs, name=op.name, storage_order=int(op.storage_order),
                        **attrs)
        else:
            self.w.node("MaxPool", ins, outs, name=op.name, **attrs)

    def _max_unpool(self, op: O.MaxUnpool2d, ins, outs):
        if not op.accumulate:
            extra = [self.ints(op.output_shape, "output_shape")] if op.output_shape else []
            self.w.node("MaxUnpool", ins + extra, outs, name=op.name,
                        kernel_shape=list(op.kernel), strides=list(op.strides),
                        pads=list(op.pads))
            return
        # MaxUnpool overwrites repeated indices; a scatter-add into zeros sums them.
        out = op.output.type
        zeros = self.w.op("ConstantOfShape", self.ints([out.size], "size"),
                          name=f"{op.name}/zeros",
                          value=helper.make_tensor("zero", ONNX_DTYPES[out.dtype], [1], [0]))
        where = self.w.op("Reshape", ins[1], self.ints([-1, 1]), name=f"{op.name}/where")
        updates = self.w.op("Reshape", ins[0], self.ints([-1]), name=f"{op.name}/updates")
        flat = self.w.op("ScatterND", zeros, where, updates, name=f"{op.name}/scatter",
                         reduction="add")
        self.w.node("Reshape", [flat, self.ints(out.shape)], outs, name=op.name)

    def _concat(self, op: O.Concat, ins, outs):
        self.w.node("Concat", ins, outs, name=op.name, axis=int(op.axis))

    def _reshape(self, op: O.Reshape, ins, outs):
        self.w.node("Reshape", [ins[0], self.ints(op.shape)], outs, name=op.name)

    def _transpose(self, op: O.Transpose, ins, outs):
        self.w.node("Transpose", ins, outs, name=op.name, perm=list(op.perm))

    def _slice(self, op: O.Slice, ins, outs):
        shape = op.inputs[0].type.shape
        starts, ends = [], []
        for axis, start, end, step in zip(op.axes, op.starts, op.ends, op.steps):
            lo, hi, _ = slice(start, None if end < 0 else end, step).indices(shape[axis])
            starts.append(lo)
            ends.append(INT64_MIN if hi < 0 else hi)
        self.w.node("Slice", [ins[0], self.ints(starts, "starts"), self.ints(ends, "ends"),
                              self.ints(op.axes, "axes"), self.ints(op.steps, "steps")],
                    outs, name=op.name)

    def _split(self, op: O.Split, ins, outs):
        self.w.node("Split", [ins[0], self.ints(op.sizes, "split")], outs, name=op.name,
                    axis=int(op.axis))

    def _pad(self, op: O.Pad, ins, outs):
        inputs = [ins[0], self.ints(op.pads, "pads")]
        if op.mode == "constant":
            inputs.append(self.scalar(op.value, self.float_like(op.inputs[0]), "pad_value"))
        self.w.node("Pad", inputs, outs, name=op.name, mode=op.mode)

    def _resize(self, op: O.Resize, ins, outs):
        shape = op.inputs[0].type.shape
        from_scales = all(math.floor(d * s) == n for d, s, n in zip(shape, op.scales, op.sizes))
        if from_scales:
            inputs = [ins[0], "", self.w.const(np.asarray(op.scales, np.float32), "scales")]
        else:
            inputs = [ins[0], "", "", self.ints(op.sizes, "sizes")]
            self.notes.append(f"resize '{op.name}': its scales do not give its sizes; "
                              "exported with sizes, so onnxruntime maps coordinates with "
                              "sizes / input instead of the IR's scales")
        attrs = dict(mode=op.mode, coordinate_transformation_mode=op.coordinate_transformation_mode)
        if op.mode == "nearest":
            attrs["nearest_mode"] = op.nearest_mode
        self.w.node("Resize", inputs, outs, name=op.name, **attrs)

    def _reduce(self, op: O.Reduce, ins, outs):
        # The IR class names are the ONNX op types; at opset 18+ every reduction takes
        # its axes as an input (none: every axis, as in the IR).
        inputs = [ins[0]]
        if op.axes:
            inputs.append(self.ints(op.axes, "axes"))
        self.w.node(type(op).__name__, inputs, outs, name=op.name, keepdims=int(op.keepdims))

    # -- indexing (ir/ops/indexing.py) --------------------------------------------------------
    def _gather(self, op, ins, outs):
        op_type = "Gather" if isinstance(op, O.Gather) else "GatherElements"
        self.w.node(op_type, ins, outs, name=op.name, axis=int(op.axis))

    def _expand(self, op: O.Expand, ins, outs):
        self.w.node("Expand", [ins[0], self.ints(op.shape)], outs, name=op.name)

    def _tile(self, op: O.Tile, ins, outs):
        self.w.node("Tile", [ins[0], self.ints(op.repeats, "repeats")], outs, name=op.name)

    def _block_shuffle(self, op, ins, outs):
        if isinstance(op, O.DepthToSpace):
            self.w.node("DepthToSpace", ins, outs, name=op.name, blocksize=int(op.blocksize),
                        mode=op.mode)
        elif op.mode == "DCR":
            self.w.node("SpaceToDepth", ins, outs, name=op.name, blocksize=int(op.blocksize))
        else:   # SpaceToDepth has a mode only from opset 28: write out its rearrangement
            split, perm = op.rearrangement(op.inputs[0].type.shape)
            blocks = self.w.op("Reshape", ins[0], self.ints(split), name=f"{op.name}/split")
            moved = self.w.op("Transpose", blocks, name=f"{op.name}/move", perm=list(perm))
            self.w.node("Reshape", [moved, self.ints(op.output.type.shape)], outs, name=op.name)

    def _trilu(self, op: O.Trilu, ins, outs):
        k = self.w.const(np.array(op.k, np.int64), "k")
        self.w.node("Trilu", [ins[0], k], outs, name=op.name, upper=int(op.upper))

    def _any_type(self, op, ins, outs):
        attrs = {}
        if isinstance(op, O.Cast):
            attrs["to"] = ONNX_DTYPES[op.target]
        elif isinstance(op, O.ARG_REDUCTIONS):
            attrs = dict(axis=op.axis, keepdims=int(op.keepdims),
                         select_last_index=int(op.select_last_index))
        self.w.node(type(op).__name__, ins, outs, name=op.name, **attrs)

    # -- helpers for subclasses ------------------------------------------------------------
    def float_node(self, op: Operation, ins: list[str], outs: list[str]) -> None:
        """Emit ``op``'s float mapping reading ``ins`` and writing ``outs``."""
        handler = self._float_handlers.get(type(op))
        if handler is None:
            raise self.unsupported(op)
        handler(op, ins, outs)


__all__ = ["Exporter", "IR_VERSION", "OPSET"]
