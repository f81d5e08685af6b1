"""The graph rewrite of post-training quantization: float graph + calibration
statistics -> integer IR (ops and their exact semantics: n2d2c/ir/ops/quant.py).

Units
    A *layer* is a Conv2d, a Gemm (constant B, constant C broadcast along the
    output features), a MatMul (constant 2-D B, or two activations) or an Add of
    two activations, with a fused ReLU/Clip or none.  The clamps that follow it
    (Relu, Clip, and Max/Min with a scalar or per-channel constant, each the sole
    reader of the previous result) join it: they become the clamp bounds of the
    layer's ``rescale``.  A layer becomes ``integer op -> i32/i64 accumulator ->
    rescale -> i8/u8/i16``.

Scales (N2D2 semantics)
    Every integer activation has one real scale ``s`` (value = q * s, zero point
    0).  A layer's output threshold ``T`` is the clipping threshold of the
    calibrated histogram of its last clamp's result (of the following max-pool's
    result when that is its only reader), with the activation clipping mode for
    conv/gemm/matmul layers with more than 2 outputs and the plain maximum for
    adds and the quantization of float values (network inputs...).  A bounded
    clamp (ReLU6) caps ``T``.  Unsigned outputs (``u8``, range [0, 2**n - 1]) come
    from clamps at 0 unless ``no_unsigned``; signed ones map ``T`` to 2**(n-1) - 1
    and saturate at [-2**(n-1), 2**(n-1) - 1].  ``s = T / qmax``.

    Weights are symmetric, ``[-(2**(b-1) - 1), 2**(b-1) - 1]``, with one scale per
    layer or per output channel (the per-channel range is floored at
    ``min(layer range, 0.1)``), after optional clipping of the layer's weights.
    The bias is ``round(b / (s_x * s_w))`` in the accumulator type, and the
    rescale factor ``M = s_x * s_w / s_y`` is approximated by ``rescaling.py``.

    Operands of an add, or of a concat, must share one scale: a finer operand that
    is the sole result of a layer (possibly through pooling/reshaping) is simply
    produced at the common (coarsest) scale; any other gets a ``rescale`` in front
    (N2D2's "rescale parents to the largest scaling").

Everything else runs in float: its operands are dequantized, and its results are
quantized again when an integer layer reads them.  Pools, reshapes, transposes,
slices, splits, pads, identities and standalone clamps keep their operand's scale
and run on integers when their operand is an integer.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, UnsupportedError
from ..ir import DType, Graph, Operation, Value, verify
from ..ir.ops import (Add, AvgPool2d, Clip, Concat, Constant, Conv2d, Dequantize, Dropout, Gemm,
                      GlobalAvgPool, GlobalMaxPool, Identity, MatMul, Max, MaxPool2d, Min, Pad,
                      Quantize, Relu, Rescale, Reshape, Sigmoid, Slice, Softmax, Split, Transpose,
                      HardSigmoid)
from ..ir.ops.quant import dtype_bounds
from ..runtime.kernels.integer.common import round_half_away
from .calibration import CalibrationStats
from .histogram import Histogram, clipping_threshold
from .options import QuantizationOptions
from .rescaling import RescaleChoice, approximate, requantize_mode


class QuantizationWarning(UserWarning):
    """A layer could not be quantized exactly as asked (e.g. a shift fell back to
    fixed-point); the message names the layer."""


PASS_OPS = (MaxPool2d, AvgPool2d, GlobalAvgPool, GlobalMaxPool, Reshape, Transpose, Slice, Split,
            Identity, Dropout, Pad, Relu, Clip, Max, Min)
SCALE_TOLERANCE = 1e-9


# -- quantization levels ---------------------------------------------------------------------
@dataclass(frozen=True)
class QSpec:
    """How a value is stored as integers: value = q * scale."""

    scale: float
    dtype: DType
    unsigned: bool
    qmax: int          # the level the threshold maps to
    sat_lo: int        # saturation bounds
    sat_hi: int

    @property
    def threshold(self) -> float:
        return self.scale * self.qmax

    def with_scale(self, scale: float) -> "QSpec":
        return dataclasses.replace(self, scale=float(scale))


def levels(nbits: int, unsigned: bool) -> tuple[DType, int, int, int]:
    """(dtype, qmax, saturation min, saturation max) of an ``nbits`` activation."""
    dtype = (DType.U8 if unsigned else DType.I8) if nbits <= 8 else DType.I16
    dmax = dtype_bounds(dtype)[1]
    if unsigned:
        qmax = min((1 << nbits) - 1, dmax)
        return dtype, qmax, 0, qmax
    qmax = (1 << (nbits - 1)) - 1
    return dtype, qmax, -(qmax + 1), qmax


def make_spec(nbits: int, unsigned: bool, threshold: float) -> QSpec:
    dtype, qmax, lo, hi = levels(nbits, unsigned)
    if not (math.isfinite(threshold) and threshold > 0):
        threshold = 1.0  # an all-zero (or never seen) value: any scale is exact
    return QSpec(float(threshold) / qmax, dtype, unsigned, qmax, lo, hi)


def _same_spec(a: QSpec, b: QSpec) -> bool:
    return a.dtype is b.dtype and abs(a.scale - b.scale) <= SCALE_TOLERANCE * max(a.scale, b.scale)


# -- units -------------------------------------------------------------------------------
@dataclass
class Unit:
    kind: str                    # conv | gemm | matmul-const | matmul | add
    op: Operation
    chain: list[Operation]
    end: Value
    lo: np.ndarray               # clamp bounds per channel (float64)
    hi: np.ndarray
    axis: int                    # channel axis of the result
    channels: int


@dataclass
class Realization:
    value: Value
    spec: QSpec


@dataclass
class LayerWeights:
    """A weighted layer's float parameters, clipped, and their scales."""

    w: np.ndarray                # float64, original layout (alpha folded for gemm)
    bias: np.ndarray | None      # float64 [channels]
    axis: int                    # output-channel axis of w
    channels: int
    scales: np.ndarray           # s_w per channel (all equal when per layer)
    qmax: int
    dtype: DType


@dataclass
class LayerReport:
    """One row of the quantization report."""

    name: str
    op: str
    value: str
    clipping: str
    max_abs: float
    threshold: float
    scale: float
    dtype: str
    rescaling: str
    multiplier: str
    weight_scale: str = ""
    fallback: str = ""
    sqnr_db: float | None = None
    result: Value | None = field(default=None, repr=False)


class Quantizer:
    def __init__(self, graph: Graph, stats: CalibrationStats, options: QuantizationOptions):
        self.g = graph
        self.stats = stats
        self.opt = options
        self.users: dict[int, list[tuple[Operation, int]]] = {}
        for op in graph.ops:
            for i, v in enumerate(op.inputs):
                self.users.setdefault(id(v), []).append((op, i))
        self.units: dict[int, Unit] = {}
        self.end_unit: dict[int, Unit] = {}
        self.absorbed: set[int] = set()
        self.int_ops: set[int] = set()           # pass/join ops planned on integers
        self.spec: dict[int, QSpec] = {}         # planned spec of integer/quantized values
        self.domain: dict[int, str] = {}         # "int" | "float" per float-graph value
        self.thresholds: dict[int, tuple[str, float, float]] = {}  # unit -> (mode, max_abs, T)
        self.adjustable: set[int] = set()        # unit results whose scale may still move
        self._weights: dict[int, LayerWeights] = {}
        self._nonneg: dict[int, bool] = {}
        self.rows: list[LayerReport] = []
        self.warnings: list[str] = []
        self.requantizations = 0
        self.float_ops: list[str] = []

    # -- public -------------------------------------------------------------------------
    def run(self) -> Graph:
        for op in self.g.ops:
            kind = self._unit_kind(op)
            if kind is not None:
                self._make_unit(op, kind)
        self._plan()
        new = self._emit()
        verify(new)
        return new

    # -- analysis -----------------------------------------------------------------------
    def _const(self, v: Value):
        return self.g.constant_value(v)

    def _unit_kind(self, op: Operation) -> str | None:
        if getattr(op, "activation", "none") not in ("none", "relu", "clip"):
            return None
        if not op.inputs or any(not v.type.dtype.is_float for v in op.inputs) \
                or not op.output.type.dtype.is_float:
            return None
        if isinstance(op, Conv2d):
            if self._const(op.inputs[0]) is not None or self._const(op.inputs[1]) is None:
                return None
            if len(op.inputs) == 3 and self._const(op.inputs[2]) is None:
                return None
            return "conv"
        if isinstance(op, Gemm):
            if op.trans_a or self._const(op.inputs[0]) is not None \
                    or self._const(op.inputs[1]) is None:
                return None
            if len(op.inputs) == 3:
                c = self._const(op.inputs[2])
                n = op.output.shape[1]
                if c is None or c.ndim > 2 or c.size not in (1, n) or (c.ndim == 2 and c.shape[0] != 1):
                    return None
            return "gemm"
        if isinstance(op, MatMul):
            a, b = op.inputs
            if a.type.rank < 2 or b.type.rank < 2 or self._const(a) is not None:
                return None
            bc = self._const(b)
            if bc is None:
                return "matmul"
            return "matmul-const" if bc.ndim == 2 else None
        if isinstance(op, Add):
            if any(self._const(v) is not None for v in op.inputs):
                return None
            return "add"
        return None

    def _make_unit(self, op: Operation, kind: str) -> None:
        out = op.output
        rank = out.type.rank
        if kind == "matmul-const":
            axis = rank - 1
        elif rank >= 2:
            axis = 1
        else:
            axis = 0
        channels = out.shape[axis] if rank else 1
        lo = np.full(channels, -math.inf)
        hi = np.full(channels, math.inf)
        activation = getattr(op, "activation", "none")
        if activation == "relu":
            lo, hi = _compose(lo, hi, 0.0, math.inf)
        elif activation == "clip":
            lo, hi = _compose(lo, hi, op.activation_min, op.activation_max)
        chain: list[Operation] = []
        value = out
        while not self.g.is_output(value):
            users = self.users.get(id(value), [])
            if len(users) != 1:
                break
            user, index = users[0]
            bounds = self._clamp_of(user, index, value, axis, channels)
            if bounds is None:
                break
            lo, hi = _compose(lo, hi, *bounds)
            chain.append(user)
            value = user.output
        unit = Unit(kind, op, chain, value, lo, hi, axis, channels)
        self.units[id(op)] = unit
        self.end_unit[id(value)] = unit
        self.absorbed.update(id(c) for c in chain)

    def _clamp_of(self, op: Operation, index: int, value: Value, axis: int, channels: int):
        """(lo, hi) bounds of a clamp element reading ``value`` as operand ``index``."""
        if isinstance(op, Relu):
            return 0.0, math.inf
        if isinstance(op, Clip):
            return float(op.min), float(op.max)
        if isinstance(op, (Max, Min)) and op.output.type == value.type:
            other = self._const(op.inputs[1 - index])
            if other is None:
                return None
            vec = _channel_vector(other, value.type.rank, axis, channels)
            if vec is None:
                return None
            return (vec, math.inf) if isinstance(op, Max) else (-math.inf, vec)
        return None

    def nonneg(self, v: Value) -> bool:
        """Whether ``v`` is never negative, from the graph's structure (for graph
        inputs: from calibration)."""
        key = id(v)
        if key in self._nonneg:
            return self._nonneg[key]
        self._nonneg[key] = False  # cycles cannot happen, but be safe
        result = self._compute_nonneg(v)
        self._nonneg[key] = result
        return result

    def _compute_nonneg(self, v: Value) -> bool:
        op = v.producer
        if op is None:
            stats = self.stats.get(v.name)
            return stats is not None and stats.min >= 0
        if isinstance(op, Constant):
            return bool(np.all(op.value >= 0))
        unit = self.end_unit.get(id(v))
        if unit is not None:
            if np.all(unit.lo >= 0):
                return True
            return unit.kind == "add" and all(self.nonneg(x) for x in unit.op.inputs)
        if isinstance(op, (Relu, Softmax, Sigmoid, HardSigmoid)):
            return True
        if isinstance(op, Clip):
            return op.min >= 0 or self.nonneg(op.inputs[0])
        if getattr(op, "activation", "none") == "relu" or (
                getattr(op, "activation", "none") == "clip" and op.activation_min >= 0):
            return True
        if isinstance(op, Max):
            return any(self.nonneg(x) for x in op.inputs)
        if isinstance(op, (Min, Add, Concat)):
            return all(self.nonneg(x) for x in op.inputs)
        if isinstance(op, Pad):
            return self.nonneg(op.inputs[0]) and (op.mode != "constant" or op.value >= 0)
        if isinstance(op, PASS_OPS):
            return self.nonneg(op.inputs[0])
        return False

    # -- planning ---------------------------------------------------------------------
    def _is_int(self, v: Value) -> bool:
        return self.domain.get(id(v)) == "int"

    def _pass_data_operand(self, op: Operation) -> int | None:
        """Which operand a scale-preserving op moves (None: not such an op here)."""
        if not isinstance(op, PASS_OPS):
            return None
        if isinstance(op, (Max, Min)):
            for i in (0, 1):
                x, other = op.inputs[i], op.inputs[1 - i]
                const = self._const(other)
                if const is not None and self._const(x) is None and op.output.type == x.type:
                    return i
            return None
        return 0

    def _plan(self) -> None:
        for v in self.g.inputs:
            self.domain[id(v)] = "float"
        for op in self.g.ops:
            if isinstance(op, Constant):
                for v in op.outputs:
                    self.domain[id(v)] = "const"
                continue
            if id(op) in self.absorbed:
                continue
            unit = self.units.get(id(op))
            if unit is not None:
                self._plan_unit(unit)
                continue
            data = self._pass_data_operand(op)
            if data is not None and self._is_int(op.inputs[data]):
                self.int_ops.add(id(op))
                for out in op.outputs:
                    self.domain[id(out)] = "int"
                    self.spec[id(out)] = self.spec[id(op.inputs[data])]
                continue
            if isinstance(op, Concat) and any(self._is_int(v) for v in op.inputs) and \
                    all(self._const(v) is None for v in op.inputs):
                self.int_ops.add(id(op))
                self._plan_join(op)
                continue
            for out in op.outputs:
                self.domain[id(out)] = "float"

    def _input_spec(self, v: Value) -> QSpec:
        """Planned spec of an operand an integer op reads (a quantize point if float)."""
        if id(v) in self.spec:
            return self.spec[id(v)]
        stats = self.stats.get(v.name)
        if stats is None:
            raise InputError(f"no calibration statistics for value '{v.name}'")
        unsigned = not self.opt.no_unsigned and self.nonneg(v)
        spec = make_spec(self.opt.nbbits, unsigned, stats.max_abs)
        self.spec[id(v)] = spec
        return spec

    def _plan_unit(self, unit: Unit) -> None:
        op = unit.op
        operands = op.inputs[:1] if unit.kind in ("conv", "gemm", "matmul-const") else op.inputs
        for x in operands:
            self._input_spec(x)
        unsigned = not self.opt.no_unsigned and (
            bool(np.all(unit.lo >= 0)) or
            (unit.kind == "add" and all(self.nonneg(x) for x in op.inputs)))
        dtype, qmax, _, _ = levels(self.opt.nbbits, unsigned)
        clip = unit.kind != "add" and unit.kind != "matmul" and unit.channels > 2
        mode = self.opt.act_clipping_mode if clip else "None"
        stats_value = unit.end
        if clip and mode != "None":
            users = self.users.get(id(unit.end), [])
            if len(users) == 1 and isinstance(users[0][0], (MaxPool2d, GlobalMaxPool)) \
                    and not self.g.is_output(unit.end):
                stats_value = users[0][0].output
        stats = self.stats.get(stats_value.name) or self.stats.get(unit.end.name)
        if stats is None:
            raise InputError(f"no calibration statistics for value '{unit.end.name}'")
        threshold = clipping_threshold(
            stats.hist, mode, nbbits=self.opt.nbbits, qmin=0 if unsigned else -qmax, qmax=qmax,
            signed=not unsigned, quantile=self.opt.act_quantile_value, max_abs=stats.max_abs)
        cap = float(np.max(unit.hi))
        if math.isfinite(cap) and cap > 0:
            threshold = min(threshold, cap)
        self.thresholds[id(op)] = (mode, stats.max_abs, threshold)
        spec = make_spec(self.opt.nbbits, unsigned, threshold)
        self.domain[id(unit.end)] = "int"
        if unit.kind == "add":
            specs = [self.spec[id(x)] for x in op.inputs]
            common = max(s.scale for s in specs)
            for x, s in zip(op.inputs, specs):
                if s.scale < common:
                    self._retarget(x, s.with_scale(common))
        # Predict the output scale a shift will give (exact bookkeeping), so that the
        # readers of this result plan with the scale it will really have.
        s_acc = self._accumulator_scale(unit, [self.spec[id(x)].scale for x in operands])
        if s_acc is not None:
            choice = approximate([s_acc / spec.scale], self.opt.rescale_mode,
                                 can_fold=unit.kind not in ("add", "matmul"), acc_bound=0)
            adjusted = _adjusted_scale(choice, s_acc, spec.scale)
            if adjusted is not None:
                spec = spec.with_scale(adjusted)
        self.spec[id(unit.end)] = spec
        self.adjustable.add(id(unit.end))

    def _accumulator_scale(self, unit: Unit, input_scales) -> float | None:
        """Scale of the accumulator of a per-tensor-rescaled unit (None if per channel)."""
        if unit.kind == "add":
            return max(input_scales)
        if unit.kind == "matmul":
            return input_scales[0] * input_scales[1]
        if self.opt.per_channel_weights:
            return None
        return input_scales[0] * float(self.layer_weights(unit).scales[0])

    def layer_weights(self, unit: Unit) -> LayerWeights:
        cached = self._weights.get(id(unit.op))
        if cached is not None:
            return cached
        op, kind, opt = unit.op, unit.kind, self.opt
        w = self._const(op.inputs[1]).astype(np.float64)
        bias = None
        if kind == "conv":
            axis = 0
            if len(op.inputs) == 3:
                bias = self._const(op.inputs[2]).astype(np.float64).reshape(-1)
        elif kind == "gemm":
            w = w * op.alpha
            axis = 0 if op.trans_b else 1
            if len(op.inputs) == 3:
                c = self._const(op.inputs[2]).astype(np.float64).reshape(-1) * op.beta
                bias = np.broadcast_to(c, (unit.channels,)).copy()
        else:
            axis = 1
        channels = w.shape[axis]
        wbits = opt.weight_bits
        wq = (1 << (wbits - 1)) - 1
        if opt.wt_clipping_mode != "None":
            absmax = float(np.abs(w).max()) if w.size else 0.0
            if absmax > 0:
                t = clipping_threshold(Histogram.of(w, signed=True), opt.wt_clipping_mode,
                                       nbbits=wbits, qmin=-wq, qmax=wq, signed=True,
                                       quantile=1.0, max_abs=absmax)
                if t > 0:
                    w = np.clip(w, -t, t)
        wm = np.moveaxis(w, axis, 0).reshape(channels, -1)
        layer_range = float(np.abs(wm).max()) if wm.size else 0.0
        if opt.per_channel_weights and layer_range > 0:
            ranges = np.maximum(np.abs(wm).max(axis=1), min(layer_range, 0.1))
        else:
            ranges = np.full(channels, layer_range if layer_range > 0 else 1.0)
        result = LayerWeights(w, bias, axis, channels, ranges / wq, wq,
                              DType.I8 if wbits <= 8 else DType.I16)
        self._weights[id(op)] = result
        return result

    def _plan_join(self, op: Concat) -> None:
        specs = [self._input_spec(x) for x in op.inputs]
        unsigned = all(s.unsigned for s in specs)
        threshold = max(s.threshold for s in specs)
        spec = make_spec(self.opt.nbbits, unsigned, threshold)
        for x, s in zip(op.inputs, specs):
            if not _same_spec(s, spec):
                self._retarget(x, spec)
        self.spec[id(op.output)] = spec
        self.domain[id(op.output)] = "int"

    def _retarget(self, v: Value, want: QSpec) -> bool:
        """Make ``v`` be produced directly with ``want`` when nothing else reads it."""
        if self.g.is_output(v) or len(self.users.get(id(v), [])) != 1:
            return False
        current = self.spec.get(id(v))
        if current is not None and current.unsigned is False and want.unsigned:
            return False
        unit = self.end_unit.get(id(v))
        if unit is not None and unit.kind in ("add", "matmul") and \
                self.opt.rescale_mode in ("single-shift", "double-shift"):
            return False  # a shift without weights to fold into cannot hit a given scale
        if self.domain.get(id(v)) == "float" or unit is not None:
            self.spec[id(v)] = want
            self.adjustable.discard(id(v))
            return True
        op = v.producer
        if op is not None and id(op) in self.int_ops and not isinstance(op, (Split, Concat)):
            data = self._pass_data_operand(op)
            if data is not None and self._retarget(op.inputs[data], want):
                self.spec[id(v)] = want
                return True
        return False

    # -- emission ---------------------------------------------------------------------
    def _emit(self) -> Graph:
        g = self.g
        new = Graph(g.name)
        new.metadata = dict(g.metadata)
        self.new = new
        self.qval: dict[int, Realization] = {}
        self.fval: dict[int, Value] = {}
        self._requant: dict[tuple, Realization] = {}
        for v in g.inputs:
            self.fval[id(v)] = new.add_input(v.name, v.type)
        for op in g.ops:
            if isinstance(op, Constant) or id(op) in self.absorbed:
                continue
            unit = self.units.get(id(op))
            if unit is not None:
                self._emit_unit(unit)
            elif id(op) in self.int_ops:
                if isinstance(op, Concat):
                    self._emit_join(op)
                else:
                    self._emit_pass(op)
            else:
                self._emit_float(op)
        outputs = []
        for v in g.outputs:
            outputs.append(self.as_float(v))
        new.outputs = outputs
        for v, fv in zip(g.outputs, outputs):
            if fv.name != v.name and fv not in new.inputs:
                taken = next((x for x in new.values() if x.name == v.name), None)
                if taken is not None:
                    new.rename(taken, new.unique_name(v.name + ".int"))
                new.rename(fv, v.name)
        return new

    def _add(self, op: Operation, inputs, names) -> Operation:
        return self.new.add(op, inputs, names)

    def as_float(self, v: Value) -> Value:
        if id(v) in self.fval:
            return self.fval[id(v)]
        const = self._const(v)
        if const is not None:
            value = self._add(Constant(value=const, name=v.name), [], [v.name]).output
        else:
            r = self.qval[id(v)]
            value = self._add(Dequantize(scale=r.spec.scale, name=f"{v.name}.dequantize"),
                              [r.value], [f"{v.name}.dq"]).output
        self.fval[id(v)] = value
        return value

    def as_int(self, v: Value, want: QSpec | None = None) -> Realization:
        r = self.qval.get(id(v))
        if r is None:
            spec = self.spec.get(id(v)) or want or self._input_spec(v)
            fv = self.as_float(v)
            q = self._add(Quantize(scale=spec.scale, dtype=spec.dtype.value,
                                   name=f"{v.name}.quantize"), [fv], [f"{v.name}.q"]).output
            r = self.qval[id(v)] = Realization(q, spec)
        if want is None or _same_spec(r.spec, want):
            return r
        key = (id(v), want.scale, want.dtype)
        if key in self._requant:
            return self._requant[key]
        mode = requantize_mode(self.opt.rescale_mode)
        bound = max(abs(b) for b in dtype_bounds(r.spec.dtype))
        choice = approximate([r.spec.scale / want.scale], mode, can_fold=False, acc_bound=bound)
        value = self._emit_rescale(r.value, choice, want, np.array([want.sat_lo]),
                                   np.array([want.sat_hi]), axis=None,
                                   name=f"{v.name}.requantize", result=f"{v.name}.rq",
                                   input_scales=[r.spec.scale])
        self.requantizations += 1
        result = self._requant[key] = Realization(value, want)
        return result

    def _emit_rescale(self, x: Value, choice: RescaleChoice, spec: QSpec, lo_q, hi_q, *,
                      axis: int | None, name: str, result: str, input_scales) -> Value:
        rank = x.type.rank
        if axis is None:
            axis = 1 if rank >= 2 else 0
        scales = tuple(float(s) for s in np.asarray(input_scales, np.float64).reshape(-1))
        if scales and all(s == scales[0] for s in scales):
            scales = scales[:1]
        op = Rescale(axis=axis, out_min=_compact(lo_q), out_max=_compact(hi_q),
                     dtype=spec.dtype.value, input_scales=scales,
                     output_scale=float(spec.scale), name=name, **choice.attributes())
        return self._add(op, [x], [result]).output

    def _clamp_levels(self, unit: Unit, spec: QSpec) -> tuple[np.ndarray, np.ndarray]:
        lo = np.where(np.isfinite(unit.lo), round_half_away(np.where(np.isfinite(unit.lo),
                                                                     unit.lo, 0) / spec.scale),
                      spec.sat_lo)
        hi = np.where(np.isfinite(unit.hi), round_half_away(np.where(np.isfinite(unit.hi),
                                                                     unit.hi, 0) / spec.scale),
                      spec.sat_hi)
        lo = np.clip(lo, spec.sat_lo, spec.sat_hi).astype(np.int64)
        hi = np.clip(hi, spec.sat_lo, spec.sat_hi).astype(np.int64)
        return lo, np.maximum(lo, hi)

    def _warn(self, op: Operation, message: str) -> None:
        text = f"layer '{op.name}': {message}"
        self.warnings.append(text)
        warnings.warn(text, QuantizationWarning, stacklevel=4)

    def _emit_unit(self, unit: Unit) -> None:
        if unit.kind in ("add", "matmul"):
            self._emit_weightless(unit)
        else:
            self._emit_layer(unit)

    def _emit_layer(self, unit: Unit) -> None:
        op, kind, opt = unit.op, unit.kind, self.opt
        x = op.inputs[0]
        xr = self.as_int(x, self.spec[id(x)])
        s_x = xr.spec.scale
        lw = self.layer_weights(unit)
        w, bias, w_axis, channels = lw.w, lw.bias, lw.axis, lw.channels
        wq, wdtype, wbits = lw.qmax, lw.dtype, opt.weight_bits
        s_w = lw.scales.copy()
        out_spec = self.spec[id(unit.end)]
        s_y = out_spec.scale
        per_channel = opt.per_channel_weights
        M = s_x * s_w / s_y
        acc_dtype = DType.I32 if xr.spec.dtype.itemsize == 1 and wbits <= 8 else DType.I64
        acc_lo, acc_hi = dtype_bounds(acc_dtype)
        x_abs = max(abs(b) for b in dtype_bounds(xr.spec.dtype))
        shape = [1] * w.ndim
        shape[w_axis] = channels

        def quantize_parameters(s_w):
            s_acc = s_x * s_w
            q_w = np.clip(round_half_away(w / s_w.reshape(shape)), -wq, wq).astype(wdtype.numpy)
            q_b = None
            if bias is not None:
                q_b = np.clip(round_half_away(bias / s_acc), acc_lo, acc_hi) \
                    .astype(acc_dtype.numpy)
            qm = np.moveaxis(q_w.astype(np.int64), w_axis, 0).reshape(channels, -1)
            worst = np.abs(qm).sum(axis=1) * x_abs
            if q_b is not None:
                worst = worst + np.abs(q_b.astype(np.int64))
            return q_w, q_b, int(worst.max()) if worst.size else 0

        # Folding a shift's residual factor (>= 1) into s_w only shrinks |q_w| and
        # |q_b|, so the accumulator bound of the unfolded parameters stays valid.
        _, _, bound = quantize_parameters(s_w)
        choice = approximate(M if per_channel else M[:1], opt.rescale_mode, can_fold=True,
                             acc_bound=bound)
        if choice.fallback:
            self._warn(op, choice.fallback)
        if choice.fold is not None:
            s_w = s_w * np.broadcast_to(choice.fold, s_w.shape)
        elif not per_channel and id(unit.end) in self.adjustable:
            adjusted = _adjusted_scale(choice, s_x * float(s_w[0]), s_y)
            if adjusted is not None:
                out_spec = out_spec.with_scale(adjusted)
        q_w, q_b, worst = quantize_parameters(s_w)
        if worst > acc_hi:
            raise UnsupportedError(f"layer '{op.name}': its {acc_dtype.value} accumulator could "
                                   f"overflow (worst case {worst})",
                                   hint="use fewer bits or split the layer")
        wname = f"{op.name}.wq"
        w_value = self._add(Constant(value=q_w, name=wname), [], [wname]).output
        inputs = [xr.value, w_value]
        if q_b is not None:
            bname = f"{op.name}.bq"
            inputs.append(self._add(Constant(value=q_b, name=bname), [], [bname]).output)
        if kind == "conv":
            int_op = Conv2d(strides=op.strides, pads=op.pads, dilations=op.dilations,
                            group=op.group, name=op.name)
        elif kind == "gemm":
            int_op = Gemm(trans_b=op.trans_b, name=op.name)
        else:
            int_op = MatMul(name=op.name)
        acc = self._add(int_op, inputs, [f"{op.name}.acc"]).output
        lo_q, hi_q = self._clamp_levels(unit, out_spec)
        name = unit.end.name if not self.g.is_output(unit.end) else f"{unit.end.name}.q"
        value = self._emit_rescale(acc, choice, out_spec, lo_q, hi_q, axis=unit.axis,
                                   name=f"{op.name}.rescale", result=name,
                                   input_scales=s_x * s_w)
        self.qval[id(unit.end)] = Realization(value, out_spec)
        mode, max_abs, threshold = self.thresholds[id(op)]
        self.rows.append(LayerReport(
            op.name, op.OP_NAME, unit.end.name, mode, max_abs, out_spec.threshold,
            out_spec.scale, out_spec.dtype.value, choice.mode, choice.describe(),
            weight_scale=_span(s_w), fallback=choice.fallback, result=value))

    def _emit_weightless(self, unit: Unit) -> None:
        op = unit.op
        specs = [self.spec[id(x)] for x in op.inputs]
        reals = [self.as_int(x, s) for x, s in zip(op.inputs, specs)]
        if unit.kind == "add":
            common = max(r.spec.scale for r in reals)
            reals = [r if _same_spec(r.spec, r.spec.with_scale(common))
                     else self.as_int(x, r.spec.with_scale(common))
                     for x, r in zip(op.inputs, reals)]
            s_acc = common
            int_op = Add(name=op.name)
            bound = sum(max(abs(b) for b in dtype_bounds(r.spec.dtype)) for r in reals)
        else:
            s_acc = reals[0].spec.scale * reals[1].spec.scale
            int_op = MatMul(name=op.name)
            k = op.inputs[0].shape[-1]
            bound = k * math.prod(max(abs(b) for b in dtype_bounds(r.spec.dtype)) for r in reals)
        acc = self._add(int_op, [r.value for r in reals], [f"{op.name}.acc"]).output
        planned = self.spec[id(unit.end)]
        M = s_acc / planned.scale
        choice = approximate([M], self.opt.rescale_mode, can_fold=False, acc_bound=int(bound))
        if choice.fallback:
            self._warn(op, choice.fallback)
        out_spec = planned
        adjusted = _adjusted_scale(choice, s_acc, planned.scale)
        if adjusted is not None and id(unit.end) in self.adjustable:
            out_spec = planned.with_scale(adjusted)
        lo_q, hi_q = self._clamp_levels(unit, out_spec)
        name = unit.end.name if not self.g.is_output(unit.end) else f"{unit.end.name}.q"
        value = self._emit_rescale(acc, choice, out_spec, lo_q, hi_q, axis=unit.axis,
                                   name=f"{op.name}.rescale", result=name,
                                   input_scales=[s_acc])
        self.qval[id(unit.end)] = Realization(value, out_spec)
        mode, max_abs, threshold = self.thresholds[id(op)]
        self.rows.append(LayerReport(
            op.name, op.OP_NAME, unit.end.name, mode, max_abs, out_spec.threshold,
            out_spec.scale, out_spec.dtype.value, choice.mode, choice.describe(),
            fallback=choice.fallback, result=value))

    def _emit_pass(self, op: Operation) -> None:
        data = self._pass_data_operand(op)
        x = op.inputs[data]
        r = self.as_int(x)
        spec = r.spec
        new_op = dataclasses.replace(op, inputs=[], outputs=[])
        inputs = [r.value]
        if isinstance(op, Pad) and op.mode == "constant":
            q = int(np.clip(round_half_away(op.value / spec.scale), *dtype_bounds(spec.dtype)))
            new_op.value = float(q)
        elif isinstance(op, Clip):
            new_op.min = _quantized_bound(op.min, spec)
            new_op.max = _quantized_bound(op.max, spec)
        elif isinstance(op, (Max, Min)):
            const = self._const(op.inputs[1 - data])
            lo, hi = dtype_bounds(spec.dtype)
            q = np.clip(round_half_away(const / spec.scale), lo, hi).astype(spec.dtype.numpy)
            cname = f"{op.name}.bound_q"
            c_value = self._add(Constant(value=q, name=cname), [], [cname]).output
            inputs = [r.value, c_value] if data == 0 else [c_value, r.value]
        names = [v.name if not self.g.is_output(v) else f"{v.name}.q" for v in op.outputs]
        result = self._add(new_op, inputs, names)
        for old, new in zip(op.outputs, result.outputs):
            self.qval[id(old)] = Realization(new, spec)

    def _emit_join(self, op: Concat) -> None:
        spec = self.spec[id(op.output)]
        inputs = [self.as_int(x, spec).value for x in op.inputs]
        name = op.output.name if not self.g.is_output(op.output) else f"{op.output.name}.q"
        result = self._add(Concat(axis=op.axis, name=op.name), inputs, [name]).output
        self.qval[id(op.output)] = Realization(result, spec)

    def _emit_float(self, op: Operation) -> None:
        inputs = [self.as_float(v) for v in op.inputs]
        new_op = dataclasses.replace(op, inputs=[], outputs=[])
        result = self._add(new_op, inputs, [v.name for v in op.outputs])
        for old, new in zip(op.outputs, result.outputs):
            self.fval[id(old)] = new
        if not isinstance(op, PASS_OPS + (Softmax, Concat, Dequantize, Quantize)):
            self.float_ops.append(f"{op.name} ({op.OP_NAME})")


# -- helpers ---------------------------------------------------------------------------
def _adjusted_scale(choice: RescaleChoice, s_acc: float, s_y: float) -> float | None:
    """The output scale that makes a per-tensor approximation exact, when the
    approximation is off (a kept shift within 2%, or a shift without fold)."""
    if choice.fallback or choice.fold is not None or choice.mode not in ("single-shift",
                                                                         "double-shift"):
        return None
    effective = float(choice.effective[0])
    M = s_acc / s_y
    if effective <= 0 or effective == M:
        return None
    return s_acc / effective


def _compose(lo1, hi1, lo2, hi2):
    """Bounds of clamp(clamp(x, lo1, hi1), lo2, hi2) as one clamp."""
    lo2 = np.asarray(lo2, np.float64)
    hi2 = np.asarray(hi2, np.float64)
    lo = np.minimum(np.maximum(lo1, lo2), hi2)
    hi = np.minimum(np.maximum(hi1, lo2), hi2)
    return np.asarray(lo, np.float64), np.asarray(hi, np.float64)


def _channel_vector(array: np.ndarray, rank: int, axis: int, channels: int):
    """``array`` as one value per channel along ``axis`` (broadcasting), else None."""
    if array.ndim > rank:
        return None
    shape = (1,) * (rank - array.ndim) + array.shape
    if any(d != 1 for i, d in enumerate(shape) if i != axis):
        return None
    if shape[axis] not in (1, channels):
        return None
    return np.broadcast_to(array.reshape(-1).astype(np.float64), (channels,)).copy()


def _quantized_bound(bound: float, spec: QSpec) -> float:
    if math.isinf(bound):
        return bound
    lo, hi = dtype_bounds(spec.dtype)
    return float(np.clip(round_half_away(bound / spec.scale), lo, hi))


def _compact(values) -> tuple[int, ...]:
    values = tuple(int(v) for v in np.asarray(values).reshape(-1))
    return values[:1] if values and all(v == values[0] for v in values) else values


def _span(values) -> str:
    values = np.asarray(values, np.float64)
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g}..{hi:.4g}"
