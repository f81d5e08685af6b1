"""The graph rewrite: a float graph and its ``ScalePlan`` -> the integer IR.

A unit becomes ``integer op -> i32/i64 accumulator -> rescale -> i8/u8/i16``:
weights quantized symmetrically (``weights.py``), the bias ``round(b / (s_x *
s_w))`` in the accumulator type, and the rescale factor ``M = s_x * s_w / s_y``
approximated by ``rescaling.py``.  An operand at another scale than the one its
reader needs gets a ``rescale`` in front (N2D2's "rescale parents to the largest
scaling").  An element-wise function of one 8-bit value becomes a ``lookup`` of its
256 results (``lookup.py``), a Softmax of one an ``int_softmax`` (``softmax.py``).
Everything else runs in float: its operands are dequantized, and its
results are quantized again when an integer op reads them; scale-preserving ops
planned on integers are copied with their constants in levels.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedError
from ..ir import DType, Graph, Operation, Value
from ..ir.integer import RESIZE_WEIGHT_BITS, dtype_bounds, round_half_away
from ..ir.ops import (Clip, Concat, Constant, Dequantize, Gemm, MatMul, Max, Min,
                      Pad, Quantize, Rescale, Resize, Softmax, softmax_table)
from .levels import QSpec, adjusted_scale, clamp_levels, quantized_bound, same_spec, to_levels
from .lookup import function_table, lookup_op
from .planning import ScalePlan
from .report import LayerReport
from .rescaling import RescaleChoice, approximate, compact, requantize_mode, span
from .softmax import softmax_op
from .units import PASS_OPS, SHARED_SCALE, WEIGHTLESS, Unit


class QuantizationWarning(UserWarning):
    """A layer could not be quantized exactly as asked (e.g. a shift fell back to
    fixed-point); the message names the layer."""


@dataclass
class Realization:
    """A float-graph value as it exists in the new graph: integers of ``spec``."""

    value: Value
    spec: QSpec


class GraphRewrite:
    """Writes the integer-IR graph of ``plan``; ``rows``, ``warnings``,
    ``requantizations`` and ``float_ops`` say what it did (for the report)."""

    def __init__(self, plan: ScalePlan):
        self.plan = plan
        self.units = plan.units
        self.g = plan.g
        self.opt = plan.opt
        self.new = Graph(self.g.name)
        self.new.metadata = dict(self.g.metadata)
        self.qval: dict[int, Realization] = {}
        self.fval: dict[int, Value] = {}
        self._requant: dict[tuple, Realization] = {}
        self.rows: list[LayerReport] = []
        self.warnings: list[str] = []
        self.requantizations = 0
        self.float_ops: list[str] = []
        # Of those, the ops that read only graph inputs and constants (through float ops):
        # they run before any quantize, at the graph's edge, not between integer ops.
        self.input_float_ops: list[str] = []
        self._before_quantization: set[int] = {id(v) for v in self.g.inputs}

    def run(self) -> Graph:
        """The integer-IR graph (not yet verified)."""
        g, new = self.g, self.new
        for v in g.inputs:
            self.fval[id(v)] = new.add_input(v.name, v.type)
        for op in g.ops:
            if isinstance(op, Constant) or id(op) in self.units.absorbed:
                continue
            unit = self.units.by_op.get(id(op))
            if unit is not None:
                self._emit_unit(unit)
            elif id(op) in self.plan.lookups:
                self._emit_lookup(op, self.plan.lookups[id(op)])
            elif id(op) in self.plan.softmaxes:
                self._emit_softmax(op, self.plan.softmaxes[id(op)])
            elif id(op) in self.plan.interpolations:
                self._emit_interpolation(op)
            elif id(op) in self.plan.int_ops:
                if isinstance(op, Concat):
                    self._emit_join(op)
                else:
                    self._emit_pass(op)
            else:
                self._emit_float(op)
        islands = [name for name in self.float_ops if name not in self.input_float_ops]
        for count, text in ((len(islands), "have no integer kernel and stay float between "
                             f"dequantize and quantize: {', '.join(islands)}"),
                            (len(self.input_float_ops), "run in float on the graph's inputs, "
                             "before they are quantized: "
                             f"{', '.join(self.input_float_ops)}")):
            if count:
                # One warning per kind: the model still compiles, in mixed precision.
                text = f"{count} op(s) {text}"
                self.warnings.append(text)
                warnings.warn(text, QuantizationWarning, stacklevel=3)
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
        const = self.units.const(v)
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
            spec = self.plan.spec.get(id(v)) or want or self.plan.input_spec(v)
            fv = self.as_float(v)
            q = self._add(Quantize(scale=spec.scale, dtype=spec.dtype.value,
                                   name=f"{v.name}.quantize"), [fv], [f"{v.name}.q"]).output
            r = self.qval[id(v)] = Realization(q, spec)
        if want is None or same_spec(r.spec, want):
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
        op = Rescale(axis=axis, out_min=_levels(lo_q), out_max=_levels(hi_q),
                     dtype=spec.dtype.value, input_scales=scales,
                     output_scale=float(spec.scale), name=name, **choice.attributes())
        return self._add(op, [x], [result]).output

    def _warn(self, op: Operation, message: str) -> None:
        text = f"layer '{op.name}': {message}"
        self.warnings.append(text)
        warnings.warn(text, QuantizationWarning, stacklevel=4)

    def _emit_unit(self, unit: Unit) -> None:
        if unit.kind in WEIGHTLESS:
            self._emit_weightless(unit)
        else:
            self._emit_layer(unit)

    def _emit_layer(self, unit: Unit) -> None:
        op, kind = unit.op, unit.kind
        opt = self.opt.for_layer(op.name)  # its own bits under --nbbits-layer
        x = op.inputs[0]
        xr = self.as_int(x, self.plan.spec[id(x)])
        s_x = xr.spec.scale
        lw = self.plan.layer_weights(unit)
        w, bias, w_axis, channels = lw.w, lw.bias, lw.axis, lw.channels
        wq, wdtype, wbits = lw.qmax, lw.dtype, opt.weight_bits
        s_w = lw.scales.copy()
        out_spec = self.plan.spec[id(unit.end)]
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
        elif not per_channel and id(unit.end) in self.plan.adjustable:
            adjusted = adjusted_scale(choice, s_x * float(s_w[0]), s_y)
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
        if kind in ("conv", "deconv"):
            # The integer form keeps every attribute but the fused activation (a clamp of
            # the rescale now).
            int_op = dataclasses.replace(op, inputs=[], outputs=[], activation="none")
        elif kind == "gemm":
            int_op = Gemm(trans_b=op.trans_b, name=op.name)
        else:
            int_op = MatMul(name=op.name)
        acc = self._add(int_op, inputs, [f"{op.name}.acc"]).output
        lo_q, hi_q = clamp_levels(unit.lo, unit.hi, out_spec)
        name = unit.end.name if not self.g.is_output(unit.end) else f"{unit.end.name}.q"
        value = self._emit_rescale(acc, choice, out_spec, lo_q, hi_q, axis=unit.axis,
                                   name=f"{op.name}.rescale", result=name,
                                   input_scales=s_x * s_w)
        self.qval[id(unit.end)] = Realization(value, out_spec)
        mode, max_abs, threshold = self.plan.thresholds[id(op)]
        self.rows.append(LayerReport(
            op.name, op.OP_NAME, unit.end.name, mode, max_abs, out_spec.threshold,
            out_spec.scale, out_spec.dtype.value, choice.mode, choice.describe(),
            weight_scale=span(s_w), fallback=choice.fallback, result=value, weighted=True))

    def _emit_weightless(self, unit: Unit) -> None:
        op = unit.op
        specs = [self.plan.spec[id(x)] for x in op.inputs]
        reals = [self.as_int(x, s) for x, s in zip(op.inputs, specs)]
        magnitudes = [max(abs(b) for b in dtype_bounds(r.spec.dtype)) for r in reals]
        if unit.kind in SHARED_SCALE:
            common = max(r.spec.scale for r in reals)
            reals = [r if same_spec(r.spec, r.spec.with_scale(common))
                     else self.as_int(x, r.spec.with_scale(common))
                     for x, r in zip(op.inputs, reals)]
            s_acc = common
            bound = sum(magnitudes)
        else:  # products: the scales multiply
            s_acc = reals[0].spec.scale * reals[1].spec.scale
            k = op.inputs[0].shape[-1] if unit.kind == "matmul" else 1
            bound = k * math.prod(magnitudes)
        int_op = type(op)(name=op.name)
        acc = self._add(int_op, [r.value for r in reals], [f"{op.name}.acc"]).output
        planned = self.plan.spec[id(unit.end)]
        M = s_acc / planned.scale
        choice = approximate([M], self.opt.rescale_mode, can_fold=False, acc_bound=int(bound))
        if choice.fallback:
            self._warn(op, choice.fallback)
        out_spec = planned
        adjusted = adjusted_scale(choice, s_acc, planned.scale)
        if adjusted is not None and id(unit.end) in self.plan.adjustable:
            out_spec = planned.with_scale(adjusted)
        lo_q, hi_q = clamp_levels(unit.lo, unit.hi, out_spec)
        name = unit.end.name if not self.g.is_output(unit.end) else f"{unit.end.name}.q"
        value = self._emit_rescale(acc, choice, out_spec, lo_q, hi_q, axis=unit.axis,
                                   name=f"{op.name}.rescale", result=name,
                                   input_scales=[s_acc])
        self.qval[id(unit.end)] = Realization(value, out_spec)
        mode, max_abs, threshold = self.plan.thresholds[id(op)]
        self.rows.append(LayerReport(
            op.name, op.OP_NAME, unit.end.name, mode, max_abs, out_spec.threshold,
            out_spec.scale, out_spec.dtype.value, choice.mode, choice.describe(),
            fallback=choice.fallback, result=value))

    def _emit_pass(self, op: Operation) -> None:
        data = self.units.data_operand(op)
        x = op.inputs[data]
        r = self.as_int(x)
        spec = r.spec
        new_op = dataclasses.replace(op, inputs=[], outputs=[])
        inputs = [r.value]
        if isinstance(op, Pad) and op.mode == "constant":
            new_op.value = float(int(to_levels(op.value, spec)))
        elif isinstance(op, Clip):
            new_op.min = quantized_bound(op.min, spec)
            new_op.max = quantized_bound(op.max, spec)
        elif isinstance(op, (Max, Min)):
            const = self.units.const(op.inputs[1 - data])
            q = to_levels(const, spec)
            cname = f"{op.name}.bound_q"
            c_value = self._add(Constant(value=q, name=cname), [], [cname]).output
            inputs = [r.value, c_value] if data == 0 else [c_value, r.value]
        names = [v.name if not self.g.is_output(v) else f"{v.name}.q" for v in op.outputs]
        result = self._add(new_op, inputs, names)
        for old, new in zip(op.outputs, result.outputs):
            self.qval[id(old)] = Realization(new, spec)

    def _emit_lookup(self, op: Operation, data: int) -> None:
        """An element-wise function of an 8-bit integer value as its table (lookup.py),
        computed for the scale the operand really has."""
        r = self.as_int(op.inputs[data])
        spec = self.plan.spec[id(op.output)]
        table = function_table(self.g, op, data, r.spec, spec)
        tname = f"{op.name}.table"
        t_value = self._add(Constant(value=table, name=tname), [], [tname]).output
        name = op.output.name if not self.g.is_output(op.output) else f"{op.output.name}.q"
        result = self._add(lookup_op(op, r.spec, spec), [r.value, t_value], [name]).output
        self.qval[id(op.output)] = Realization(result, spec)

    def _emit_interpolation(self, op: Resize) -> None:
        """A linear resize: integer weights of RESIZE_WEIGHT_BITS fraction bits per resized
        axis into an i32 (ir/ops/quant.py), rescaled to the planned spec."""
        x = op.inputs[0]
        r = self.as_int(x)
        spec = self.plan.spec[id(op.output)]
        gain = 2 ** (RESIZE_WEIGHT_BITS * op.resized_axes(x.shape))
        acc = self._add(dataclasses.replace(op, inputs=[], outputs=[]), [r.value],
                        [f"{op.output.name}.acc"]).output
        bound = gain * max(abs(b) for b in dtype_bounds(r.spec.dtype))
        choice = approximate([r.spec.scale / gain / spec.scale], self.opt.rescale_mode,
                             can_fold=False, acc_bound=bound)
        if choice.fallback:
            self._warn(op, choice.fallback)
        name = op.output.name if not self.g.is_output(op.output) else f"{op.output.name}.q"
        value = self._emit_rescale(acc, choice, spec, np.array([spec.sat_lo]),
                                   np.array([spec.sat_hi]), axis=None,
                                   name=f"{op.name}.rescale", result=name,
                                   input_scales=[r.spec.scale / gain])
        self.qval[id(op.output)] = Realization(value, spec)

    def _emit_softmax(self, op: Softmax, spec: QSpec | None) -> None:
        """A Softmax of 8-bit levels (softmax.py), its exp table computed for the scale
        the operand really has; a float result under the op's own result name."""
        r = self.as_int(op.inputs[0])
        tname = f"{op.name}.table"
        table = self._add(Constant(value=softmax_table(r.spec.scale), name=tname), [],
                          [tname]).output
        if spec is None:
            name = op.output.name
        else:
            name = op.output.name if not self.g.is_output(op.output) else f"{op.output.name}.q"
        result = self._add(softmax_op(op, r.spec, spec), [r.value, table], [name]).output
        if spec is None:
            self.fval[id(op.output)] = result
        else:
            self.qval[id(op.output)] = Realization(result, spec)

    def _emit_join(self, op: Concat) -> None:
        spec = self.plan.spec[id(op.output)]
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
        at_input = all(id(v) in self._before_quantization
                       or self.plan.domain.get(id(v)) == "const" for v in op.inputs)
        if at_input:
            self._before_quantization.update(id(v) for v in op.outputs)
        interpolating = isinstance(op, Resize) and op.mode != "nearest"
        if op.name in self.opt.keep_float:
            return  # asked for (mixed.py), not for want of a kernel: the report lists it
        if interpolating or not isinstance(op, PASS_OPS + (Softmax, Concat, Dequantize, Quantize)):
            self.float_ops.append(f"{op.name} ({op.OP_NAME})")
            if at_input:
                self.input_float_ops.append(self.float_ops[-1])


def _levels(values) -> tuple[int, ...]:
    """Integer clamp levels as a (compacted) per-channel attribute."""
    return compact(int(v) for v in np.asarray(values).reshape(-1))
