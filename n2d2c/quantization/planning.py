"""Scale planning: which values run on integers, and the scale of each one.

Every integer activation has one real scale ``s`` (value = q * s, zero point
0).  A layer's output threshold ``T`` is the clipping threshold of the
calibrated histogram of its last clamp's result (of the following max-pool's
result when that is its only reader), with the activation clipping mode for
conv/gemm/matmul layers with more than 2 outputs and the plain maximum for
adds and the quantization of float values (network inputs...).  A bounded
clamp (ReLU6) caps ``T``.  Unsigned outputs (``u8``, range [0, 2**n - 1]) come
from clamps at 0 unless ``no_unsigned``; signed ones map ``T`` to 2**(n-1) - 1
and saturate at [-2**(n-1), 2**(n-1) - 1].  ``s = T / qmax``.

Operands of an add, or of a concat, must share one scale: a finer operand that
is the sole result of a layer (possibly through pooling/reshaping) is simply
produced at the common (coarsest) scale (``_retarget``); any other gets a
``rescale`` in front when the graph is rewritten.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..ir import Value
from ..ir.ops import Concat, Constant, GlobalMaxPool, MaxPool2d, Resize, Split
from .histogram import clipping_threshold
from .levels import QSpec, adjusted_scale, levels, make_spec, same_spec
from .lookup import lookup_operand, never_negative
from .options import QuantizationOptions
from .rescaling import approximate
from .softmax import declared_float, integer_softmax_fits, result_spec
from .units import SHARED_SCALE, WEIGHTLESS, Unit, Units
from .weights import LayerWeights, layer_weights


class ScalePlan:
    """The planned domain ("int" | "float" | "const") and ``QSpec`` of every value
    of the float graph, computed on construction."""

    def __init__(self, units: Units, options: QuantizationOptions):
        self.units = units
        self.g = units.g
        self.stats = units.stats
        self.opt = options
        self.int_ops: set[int] = set()           # pass/join ops planned on integers
        self.lookups: dict[int, int] = {}        # op -> operand: functions as 8-bit tables
        self.interpolations: set[int] = set()    # linear resizes: integer weights + rescale
        self.softmaxes: dict[int, QSpec | None] = {}  # softmax of 8-bit logits (None: float)
        self.spec: dict[int, QSpec] = {}         # planned spec of integer/quantized values
        self.domain: dict[int, str] = {}         # "int" | "float" per float-graph value
        self.thresholds: dict[int, tuple[str, float, float]] = {}  # unit -> (mode, max_abs, T)
        self.adjustable: set[int] = set()        # unit results whose scale may still move
        self._weights: dict[int, LayerWeights] = {}
        self._plan()

    def is_int(self, v: Value) -> bool:
        return self.domain.get(id(v)) == "int"

    def _plan(self) -> None:
        for v in self.g.inputs:
            self.domain[id(v)] = "float"
        for op in self.g.ops:
            if isinstance(op, Constant):
                for v in op.outputs:
                    self.domain[id(v)] = "const"
                continue
            if id(op) in self.units.absorbed:
                continue
            unit = self.units.by_op.get(id(op))
            if unit is not None:
                self._plan_unit(unit)
                continue
            if op.name in self.opt.keep_float:  # asked to stay float (mixed.py)
                for out in op.outputs:
                    self.domain[id(out)] = "float"
                continue
            data = self.units.data_operand(op)
            if data is not None and self.is_int(op.inputs[data]):
                self.int_ops.add(id(op))
                for out in op.outputs:
                    self.domain[id(out)] = "int"
                    self.spec[id(out)] = self.spec[id(op.inputs[data])]
                continue
            if self._plan_lookup(op) or self._plan_interpolation(op) or self._plan_softmax(op):
                continue
            if isinstance(op, Concat) and any(self.is_int(v) for v in op.inputs) and \
                    all(self.units.const(v) is None for v in op.inputs):
                self.int_ops.add(id(op))
                self._plan_join(op)
                continue
            for out in op.outputs:
                self.domain[id(out)] = "float"

    def _plan_lookup(self, op) -> bool:
        """Plan ``op`` as a table (lookup.py) when it is a function of one 8-bit integer
        value and its result was calibrated.  The result's threshold is its calibrated
        maximum (as for any quantized float value); unsigned when no level maps below 0."""
        data = lookup_operand(self.g, op)
        if data is None or self.opt.nbbits > 8 or not self.is_int(op.inputs[data]):
            return False
        x_spec = self.spec[id(op.inputs[data])]
        stats = self.stats.get(op.output.name)
        if x_spec.dtype.itemsize != 1 or stats is None:
            return False
        unsigned = not self.opt.no_unsigned and never_negative(self.g, op, data, x_spec)
        self.lookups[id(op)] = data
        self.domain[id(op.output)] = "int"
        self.spec[id(op.output)] = make_spec(self.opt.nbbits, unsigned, stats.max_abs)
        return True

    def _plan_interpolation(self, op) -> bool:
        """A linear resize of 8/16-bit levels: integer weights into an i32 and a rescale
        (ir/ops/quant.py), planned at its operand's scale (interpolating stays inside
        the operand's range)."""
        if not isinstance(op, Resize) or op.mode != "linear" or not self.is_int(op.inputs[0]):
            return False
        x_spec = self.spec[id(op.inputs[0])]
        if x_spec.dtype.itemsize > 2:
            return False
        self.interpolations.add(id(op))
        self.domain[id(op.output)] = "int"
        self.spec[id(op.output)] = x_spec
        return True

    def _plan_softmax(self, op) -> bool:
        """A Softmax of 8-bit levels in integers (softmax.py): a float result where the
        model's output is the Softmax, else levels of a probability (a fixed scale)."""
        if not self.is_int(op.inputs[0]) or not integer_softmax_fits(
                op, self.spec[id(op.inputs[0])], self.opt.nbbits):
            return False
        if declared_float(self.g, op.output):
            self.softmaxes[id(op)] = None
            self.domain[id(op.output)] = "float"
        else:
            spec = result_spec(self.opt.nbbits, self.opt.no_unsigned)
            self.softmaxes[id(op)] = spec
            self.domain[id(op.output)] = "int"
            self.spec[id(op.output)] = spec
        return True

    def input_spec(self, v: Value) -> QSpec:
        """Planned spec of an operand an integer op reads (a quantize point if float)."""
        if id(v) in self.spec:
            return self.spec[id(v)]
        stats = self.stats.get(v.name)
        if stats is None:
            raise InputError(f"no calibration statistics for value '{v.name}'")
        unsigned = not self.opt.no_unsigned and self.units.nonneg(v)
        spec = make_spec(self.opt.nbbits, unsigned, stats.max_abs)
        self.spec[id(v)] = spec
        return spec

    def _plan_unit(self, unit: Unit) -> None:
        op = unit.op
        opt = self.opt.for_layer(op.name)  # its own bits under --nbbits-layer
        weightless = unit.kind in WEIGHTLESS
        operands = op.inputs if weightless else op.inputs[:1]
        for x in operands:
            self.input_spec(x)
        unsigned = not self.opt.no_unsigned and (
            bool(np.all(unit.lo >= 0)) or
            (unit.kind in ("add", "mul") and all(self.units.nonneg(x) for x in op.inputs)))
        dtype, qmax, _, _ = levels(opt.nbbits, unsigned)
        clip = not weightless and unit.channels > 2
        mode = self.opt.act_clipping_mode if clip else "None"
        stats_value = unit.end
        if clip and mode != "None":
            users = self.units.users.get(id(unit.end), [])
            if len(users) == 1 and isinstance(users[0][0], (MaxPool2d, GlobalMaxPool)) \
                    and not self.g.is_output(unit.end):
                stats_value = users[0][0].output
        stats = self.stats.get(stats_value.name) or self.stats.get(unit.end.name)
        if stats is None:
            raise InputError(f"no calibration statistics for value '{unit.end.name}'")
        threshold = clipping_threshold(
            stats.hist, mode, nbbits=opt.nbbits, qmin=0 if unsigned else -qmax, qmax=qmax,
            signed=not unsigned, quantile=self.opt.act_quantile_value, max_abs=stats.max_abs)
        cap = float(np.max(unit.hi))
        if math.isfinite(cap) and cap > 0:
            threshold = min(threshold, cap)
        self.thresholds[id(op)] = (mode, stats.max_abs, threshold)
        spec = make_spec(opt.nbbits, unsigned, threshold)
        self.domain[id(unit.end)] = "int"
        if unit.kind in SHARED_SCALE:
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
                                 can_fold=not weightless, acc_bound=0)
            adjusted = adjusted_scale(choice, s_acc, spec.scale)
            if adjusted is not None:
                spec = spec.with_scale(adjusted)
        self.spec[id(unit.end)] = spec
        self.adjustable.add(id(unit.end))

    def _accumulator_scale(self, unit: Unit, input_scales) -> float | None:
        """Scale of the accumulator of a per-tensor-rescaled unit (None if per channel)."""
        if unit.kind in SHARED_SCALE:
            return max(input_scales)
        if unit.kind in WEIGHTLESS:  # products: mul, matmul
            return input_scales[0] * input_scales[1]
        if self.opt.per_channel_weights:
            return None
        return input_scales[0] * float(self.layer_weights(unit).scales[0])

    def layer_weights(self, unit: Unit) -> LayerWeights:
        """``weights.layer_weights`` of ``unit``, computed once."""
        cached = self._weights.get(id(unit.op))
        if cached is None:
            cached = self._weights[id(unit.op)] = layer_weights(self.g, unit,
                                                               self.opt.for_layer(unit.op.name))
        return cached

    def _plan_join(self, op: Concat) -> None:
        specs = [self.input_spec(x) for x in op.inputs]
        unsigned = all(s.unsigned for s in specs)
        threshold = max(s.threshold for s in specs)
        spec = make_spec(self.opt.nbbits, unsigned, threshold)
        for x, s in zip(op.inputs, specs):
            if not same_spec(s, spec):
                self._retarget(x, spec)
        self.spec[id(op.output)] = spec
        self.domain[id(op.output)] = "int"

    def _retarget(self, v: Value, want: QSpec) -> bool:
        """Make ``v`` be produced directly with ``want`` when nothing else reads it."""
        if self.g.is_output(v) or len(self.units.users.get(id(v), [])) != 1:
            return False
        current = self.spec.get(id(v))
        if current is not None and current.unsigned is False and want.unsigned:
            return False
        unit = self.units.by_end.get(id(v))
        if unit is not None and unit.kind in WEIGHTLESS and \
                self.opt.rescale_mode in ("single-shift", "double-shift"):
            return False  # a shift without weights to fold into cannot hit a given scale
        if self.domain.get(id(v)) == "float" or unit is not None:
            self.spec[id(v)] = want
            self.adjustable.discard(id(v))
            return True
        op = v.producer
        if op is not None and id(op) in self.interpolations and \
                self.opt.rescale_mode not in ("single-shift", "double-shift"):
            self.spec[id(v)] = want  # its rescale can hit any scale but by a shift
            return True
        if op is not None and id(op) in self.lookups:
            self.spec[id(v)] = want  # the table is computed for whatever scale is planned
            return True
        if op is not None and id(op) in self.int_ops and not isinstance(op, (Split, Concat)):
            data = self.units.data_operand(op)
            if data is not None and self._retarget(op.inputs[data], want):
                self.spec[id(v)] = want
                return True
        return False
