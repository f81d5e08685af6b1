"""The quantized integer IR read as DNeuro's chain of streaming layers.

Every tensor between layers is a *stream*: the pixels of a [1, C, H, W] map in
raster order, one pixel (all C channels side by side) per beat.  A layer is one
of a few hardware blocks:

* ``window`` blocks (``conv``, ``depthwise``, ``maxpool``, ``resize``): a line
  buffer and a loop over the taps of every output pixel.  A fully-connected
  layer is a convolution whose kernel covers its whole input; padding is read
  as zeros (conv) or skipped (pooling); a nearest resize is a 1x1 window whose
  row/column origin comes from a table.
* ``merge`` blocks (``sum``, ``scale``, ``concat``): pointwise on one pixel of
  each input (element-wise sum, a standalone rescale/ReLU/clip, channel concat).

The requantization after an accumulator (``rescale``) and the clamps of
Rectifier/Saturation belong to the layer that produced the accumulator.  What
DNeuro has no block for is refused with one error naming every such layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UnsupportedError, UsageError
from ...ir import DType, Graph, ops
from ...ir.integer import dtype_bounds, saturated_bounds
from ...ir.ops.quant import per_channel
from ..c.resize import resize_axis_nearest

STREAM_DTYPES = (DType.I8, DType.U8, DType.I16)
#: Functions of a ``lookup`` table read as DNeuro's Logistic activation.
LOGISTIC_FUNCTIONS = ("sigmoid", "hard_sigmoid")


@dataclass
class Stream:
    name: str
    channels: int
    height: int
    width: int
    dtype: DType

    @property
    def signed(self) -> bool:
        return self.dtype is not DType.U8

    @property
    def bounds(self) -> tuple[int, int]:
        return dtype_bounds(self.dtype)

    @property
    def pixels(self) -> int:
        return self.height * self.width


@dataclass
class Requant:
    """``clamp(((x - in_zp) * mult + half) >> shift + zp, lo, hi)`` per channel: every
    integer rescale mode in one multiplier form (double-shift's factor is 1 + 2**l)."""

    mult: np.ndarray
    shift: np.ndarray
    in_zp: int
    zp: int
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def identity(cls, channels: int, lo: np.ndarray, hi: np.ndarray) -> "Requant":
        return cls(np.ones(channels, np.int64), np.zeros(channels, np.int64), 0, 0,
                   np.asarray(lo, np.int64), np.asarray(hi, np.int64))

    def apply(self, x: np.ndarray, channel_axis: int = 0) -> np.ndarray:
        """The arithmetic in numpy (the emulator's and the RTL's), x int64 [C, ...]."""
        shape = [1] * x.ndim
        shape[channel_axis] = -1
        t = (x.astype(np.int64) - self.in_zp) * self.mult.reshape(shape)
        s = self.shift.reshape(shape)
        r = np.where(s > 0, (t >> s) + ((t >> np.maximum(s - 1, 0)) & 1), t) + self.zp
        return np.clip(r, self.lo.reshape(shape), self.hi.reshape(shape))


@dataclass
class Layer:
    name: str
    kind: str                     # conv depthwise maxpool resize | sum scale concat
    inputs: list[Stream]
    output: Stream
    kernel: tuple[int, int] = (1, 1)
    # Input row/column of the window origin of every output row/column (may be < 0).
    row_origin: tuple[int, ...] = ()
    col_origin: tuple[int, ...] = ()
    weights: np.ndarray | None = None      # [M, C or 1, KH, KW] int64
    bias: np.ndarray | None = None         # [M] int64
    requant: Requant | None = None
    table: np.ndarray | None = None        # logistic: y = table[x - dtype_min(x)]; rgb: colours
    threshold: int | None = None           # rgb of a binary map: class = x > threshold
    # rgb of a binary map: the hysteresis' low threshold (rgb.py); None or >= threshold: none.
    threshold_low: int | None = None
    # top1: the last of equal maxima wins (ArgMax's select_last_index).
    last_index: bool = False
    # Set by the allocation (allocation.py): parallel lanes of the tap loop.
    lanes: int = 1
    channel_lanes: int = 1      # conv: input channels multiplied per cycle by each lane
    # conv/depthwise: taps of a kernel row multiplied per cycle (line-buffer read ports).
    tap_lanes: int = 1
    # G_BATCH_SIZE: frames side by side in a beat, each with its own multipliers.
    batch: int = 1
    ops: list[str] = field(default_factory=list)   # the IR ops the block implements

    @property
    def is_window(self) -> bool:
        return self.kind in ("conv", "depthwise", "maxpool", "resize")

    @property
    def macs_per_frame(self) -> int:
        """Multiply-accumulates of one frame (0 for blocks without multipliers)."""
        if self.kind == "conv":
            return int(self.weights.size) * self.output.pixels
        if self.kind == "depthwise":
            return int(self.weights.size) * self.output.pixels
        return 0


@dataclass
class Network:
    name: str
    input: Stream
    output: Stream
    layers: list[Layer]

    def consumers(self, stream: Stream) -> list[Layer]:
        return [layer for layer in self.layers if any(s is stream for s in layer.inputs)]


# -- reading the graph ---------------------------------------------------------------------------
class _Reader:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.streams: dict[str, Stream] = {}
        self.pending: dict[str, Layer] = {}      # accumulator value -> layer awaiting its rescale
        self.layers: list[Layer] = []
        self.refused: list[str] = []

    def const(self, value) -> np.ndarray:
        array = self.graph.constant_value(value)
        if array is None:
            raise UnsupportedError(f"dneuro: {value.name} must be a constant (weights are "
                                   "stored in the FPGA's memory)")
        return np.asarray(array).astype(np.int64)

    def stream(self, value, op) -> Stream:
        s = self.streams.get(value.name)
        if s is None:
            raise UnsupportedError(f"dneuro: operand %{value.name} of {op.label} is not a "
                                   "streamed integer feature map (it needs a rescale or comes "
                                   "from an unsupported layer)")
        return s

    def new_stream(self, value) -> Stream:
        shape = value.shape
        if len(shape) == 2:
            shape = (*shape, 1, 1)
        if len(shape) != 4 or shape[0] != 1:
            raise UnsupportedError(f"dneuro: %{value.name} has shape {list(value.shape)}; "
                                   "streams are [1, C, H, W] maps (batch 1)")
        if value.type.dtype not in STREAM_DTYPES:
            raise UnsupportedError(f"dneuro: %{value.name} is {value.type.dtype.value}; the "
                                   "streams carry i8, u8 or i16 (rescale the accumulator)")
        s = Stream(value.name, shape[1], shape[2], shape[3], value.type.dtype)
        self.streams[value.name] = s
        return s

    def alias(self, value, source: Stream) -> None:
        self.streams[value.name] = source


def _window_origins(out_len: int, stride: int, pad: int) -> tuple[int, ...]:
    return tuple(o * stride - pad for o in range(out_len))


def _requant_of(op: ops.Rescale, channels: int) -> Requant:
    if op.mode == "floating-point":
        raise UnsupportedError(f"dneuro: {op.label} rescales in floating point; DNeuro's "
                               "blocks need an integer mode (quantize with "
                               "--act-rescaling-mode Single-shift, Double-shift or Fixed-point16)")
    shift = per_channel(op.shifts or (0,), channels, np.int64)
    if op.mode in ("fixed-point16", "fixed-point32"):
        mult = per_channel(op.multipliers, channels, np.int64)
    elif op.mode == "double-shift":
        mult = 1 + (np.int64(1) << per_channel(op.left_shifts, channels, np.int64))
    else:
        mult = np.ones(channels, np.int64)
    if int(mult.max()) >= 1 << 31:
        raise UnsupportedError(f"dneuro: {op.label} has a multiplier of 2^31 or more")
    lo, hi = op.bounds(channels)
    return Requant(mult, shift, int(op.input_zero_point), int(op.zero_point), lo, hi)


class _Converters:
    """One method per IR op the blocks implement."""

    def quantize(self, r: _Reader, op, _):
        if op.inputs[0] not in r.graph.inputs or op.zero_point != 0:
            raise UnsupportedError(f"dneuro: {op.label}: only the network input is "
                                   "quantized (zero point 0)")
        r.new_stream(op.output)

    def conv2d(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        w = r.const(op.inputs[1])
        m = w.shape[0]
        bias = r.const(op.inputs[2]) if len(op.inputs) > 2 else np.zeros(m, np.int64)
        if op.dilations != (1, 1):
            r.refused.append(f"{op.label} (dilated convolution)")
            return
        if op.group == 1:
            kind = "conv"
        elif op.group == x.channels == m:
            kind = "depthwise"
        else:
            r.refused.append(f"{op.label} (grouped convolution, group={op.group})")
            return
        _, _, oh, ow = op.output.shape
        layer = Layer(op.name, kind, [x], None, kernel=tuple(w.shape[2:]),
                      row_origin=_window_origins(oh, op.strides[0], op.pads[0]),
                      col_origin=_window_origins(ow, op.strides[1], op.pads[1]),
                      weights=w, bias=bias, ops=[op.label])
        r.pending[op.output.name] = layer

    def gemm(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        w = r.const(op.inputs[1])
        if op.trans_a or op.alpha != 1.0 or op.beta != 1.0:
            r.refused.append(f"{op.label} (gemm with trans_a/alpha/beta)")
            return
        if not op.trans_b:
            w = w.T
        m = w.shape[0]
        bias = (r.const(op.inputs[2]).reshape(-1) if len(op.inputs) > 2
                else np.zeros(m, np.int64))
        # Fully connected = a convolution whose kernel is the whole input map (NCHW flatten).
        w = w.reshape(m, x.channels, x.height, x.width)
        layer = Layer(op.name, "conv", [x], None, kernel=(x.height, x.width),
                      row_origin=(0,), col_origin=(0,), weights=w, bias=bias,
                      ops=[op.label])
        r.pending[op.output.name] = layer

    def add(self, r: _Reader, op, _):
        a, b = (r.stream(v, op) for v in op.inputs)
        if (a.channels, a.height, a.width) != (b.channels, b.height, b.width):
            r.refused.append(f"{op.label} (broadcasting sum)")
            return
        r.pending[op.output.name] = Layer(op.name, "sum", [a, b], None, ops=[op.label])

    def rescale(self, r: _Reader, op, _):
        source = op.inputs[0]
        layer = r.pending.pop(source.name, None)
        if layer is None:       # a standalone rescale of a stream: a pointwise block
            x = r.stream(source, op)
            layer = Layer(op.name, "scale", [x], None)
        out = r.new_stream(op.output)
        layer.output = out
        layer.requant = _requant_of(op, out.channels)
        layer.ops.append(op.label)
        r.layers.append(layer)

    def relu(self, r: _Reader, op, _):
        self._clamp(r, op, 0, None)

    def clip(self, r: _Reader, op, _):
        self._clamp(r, op, op.min, op.max)

    def _clamp(self, r: _Reader, op, lo, hi):
        x = r.stream(op.inputs[0], op)
        low, high = saturated_bounds(-np.inf if lo is None else lo,
                                     np.inf if hi is None else hi, x.dtype)
        out = r.new_stream(op.output)
        r.layers.append(Layer(op.name, "scale", [x], out, requant=Requant.identity(
            x.channels, np.full(x.channels, low), np.full(x.channels, high)), ops=[op.label]))

    def max_pool2d(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        if op.dilations != (1, 1):
            r.refused.append(f"{op.label} (dilated pooling)")
            return
        out = r.new_stream(op.output)
        r.layers.append(Layer(op.name, "maxpool", [x], out, kernel=tuple(op.kernel),
                              row_origin=_window_origins(out.height, op.strides[0], op.pads[0]),
                              col_origin=_window_origins(out.width, op.strides[1], op.pads[1]),
                              ops=[op.label]))

    def global_max_pool(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        out = r.new_stream(op.output)
        r.layers.append(Layer(op.name, "maxpool", [x], out, kernel=(x.height, x.width),
                              row_origin=(0,), col_origin=(0,), ops=[op.label]))

    def resize(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        if op.mode != "nearest" or op.sizes[:2] != (1, x.channels):
            r.refused.append(f"{op.label} ({op.mode} resize; DNeuro resizes nearest-"
                             "neighbour, spatially)")
            return
        rows = resize_axis_nearest(x.height, op.sizes[2], op.scales[2],
                                   op.coordinate_transformation_mode, op.nearest_mode)
        cols = resize_axis_nearest(x.width, op.sizes[3], op.scales[3],
                                   op.coordinate_transformation_mode, op.nearest_mode)
        if np.any(np.diff(rows) < 0) or np.any(np.diff(cols) < 0):
            r.refused.append(f"{op.label} (its source rows are not in increasing order)")
            return
        out = r.new_stream(op.output)
        r.layers.append(Layer(op.name, "resize", [x], out, row_origin=tuple(map(int, rows)),
                              col_origin=tuple(map(int, cols)), ops=[op.label]))

    def argmax(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        if op.resolved_axis(len(op.inputs[0].shape)) != 1 or x.channels > 255:
            r.refused.append(f"{op.label} (top-1 sorting is along the channels, at most 255)")
            return
        # .Target's top-1 sorting: the class index of every pixel, as an unsigned stream.
        out = Stream(op.output.name, 1, x.height, x.width, DType.U8)
        r.streams[op.output.name] = out
        r.layers.append(Layer(op.name, "top1", [x], out, ops=[op.label],
                              last_index=op.select_last_index))

    def lookup(self, r: _Reader, op, _):
        # DNeuro's Logistic activation; the quantizer's table of the 8-bit input makes it
        # exact.  Tables of other functions (Tanh, Softplus...) have no DNeuro block.
        if op.function not in LOGISTIC_FUNCTIONS:
            r.refused.append(f"{op.label} (a table of {op.function or 'an unnamed function'};"
                             " DNeuro's activations are Linear, Rectifier, Saturation, Logistic)")
            return
        x = r.stream(op.inputs[0], op)
        out = r.new_stream(op.output)
        r.layers.append(Layer(op.name, "logistic", [x], out, table=r.const(op.inputs[1]),
                              ops=[op.label]))

    def concat(self, r: _Reader, op, _):
        inputs = [r.stream(v, op) for v in op.inputs]
        if op.axis not in (1, -3) or len({(s.height, s.width) for s in inputs}) != 1 or \
                len({s.dtype for s in inputs}) != 1:
            r.refused.append(f"{op.label} (concat other than along channels)")
            return
        out = r.new_stream(op.output)
        r.layers.append(Layer(op.name, "concat", inputs, out, ops=[op.label]))

    def reshape(self, r: _Reader, op, _):
        x = r.stream(op.inputs[0], op)
        shape = op.output.shape
        flat = len(shape) == 2 and shape == (1, x.channels * x.pixels)
        if flat or (x.pixels == 1 and shape in ((1, x.channels), (1, x.channels, 1, 1))):
            r.alias(op.output, x)    # Flatten is implicit to the fully-connected layer
            return
        r.refused.append(f"{op.label} (reshape other than a flatten)")

    flatten = reshape

    def identity(self, r: _Reader, op, _):
        r.alias(op.output, r.stream(op.inputs[0], op))

    dropout = identity

    def dequantize(self, r: _Reader, op, _):
        r.stream(op.inputs[0], op)   # the network's output, read as integers


_CONVERTERS = _Converters()


def read_network(graph: Graph, name: str) -> Network:
    """The streaming layers of the quantized ``graph``; one error lists every layer DNeuro
    has no block for."""
    if not any(isinstance(op, ops.Quantize) for op in graph.ops):
        raise UsageError("dneuro: the model is not quantized; DNeuro runs the integer IR "
                         "(add --calibration DATA or --calibration-random N, see 'n2d2c "
                         "quantize --help')")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedError(f"dneuro: the network needs one input and one output, got "
                               f"{len(graph.inputs)} and {len(graph.outputs)}")
    r = _Reader(graph)
    for op in graph.ops:
        if isinstance(op, ops.Constant):
            continue
        convert = getattr(_CONVERTERS, op.OP_NAME, None)
        if convert is None:
            r.refused.append(op.label)
            continue
        try:
            convert(r, op, None)
        except UnsupportedError:
            if r.refused:
                continue     # a consequence of an earlier refusal
            raise
    if r.refused:
        raise UnsupportedError("dneuro has no block for: " + "; ".join(r.refused)
                               + " (supported: Conv incl. depthwise, Fc, max Pool, ElemWise "
                                 "Sum, nearest Resize, Concat, Linear/Rectifier/Saturation/Logistic, "
                                 "top-1 ArgMax)")
    if r.pending:
        names = ", ".join(sorted(r.pending))
        raise UnsupportedError(f"dneuro: accumulator(s) {names} have no rescale to the "
                               "stream type")
    out_value = graph.outputs[0]
    if out_value.producer is not None and isinstance(out_value.producer, ops.Dequantize):
        out_value = out_value.producer.inputs[0]
    output = r.streams[out_value.name]
    inputs = [s for s in r.streams.values()
              if not any(s is layer.output for layer in r.layers)]
    if not r.layers:
        raise UnsupportedError("dneuro: the network has no layer")
    return Network(name, inputs[0], output, r.layers)
