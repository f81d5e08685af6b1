"""Quantized integer IR: ``quantize``, ``dequantize``, ``rescale``, and the integer
forms of the existing ops.

This docstring is the contract that integer backends (C/C++ kernels, the ONNX
QDQ/QLinear exporter) must match bit for bit; the numba kernels in
``n2d2c/runtime/kernels/integer`` are its reference implementation.

Real values and integers
------------------------
An integer tensor ``q`` stands for the real tensor ``(q - zero_point) * scale``.
``quantize`` is the only place where floats become integers and ``dequantize``
the only place where integers become floats; between them, every op is exact
integer arithmetic.  The quantizer (``n2d2c.quantization``) only produces zero
points of 0 (symmetric quantization, N2D2's scheme); the ops accept others.

Rounding helpers used below (all exact):

* ``round_half_away(t)`` for a double ``t``: the nearest integer, ties away
  from zero (C's ``round``/``llround``): ``r = trunc(t); if t - r >= 0.5: r += 1;
  if t - r <= -0.5: r -= 1``.
* ``a >> s`` on a signed 64-bit integer is the *arithmetic* shift, i.e.
  ``floor(a / 2**s)``.  ``(a + (1 << (s - 1))) >> s`` therefore rounds ties
  toward +infinity ("round half up"): 2.5 -> 3, -2.5 -> -2.  With ``s = 0`` no
  half is added.
* ``clamp(v, lo, hi) = min(max(v, lo), hi)``.

``n2d2c/ir/integer.py`` writes each formula below once, in numpy.

quantize (f32 -> i8/u8/i16/i32)
    ``q = clamp(round_half_away((double)x / (double)scale) + zero_point,
    dtype_min, dtype_max)``; the division is done in double precision, NaN
    gives ``zero_point``, +-inf saturate.

dequantize (integer -> f32)
    ``x = (float)((double)(q - zero_point) * (double)scale)``.

rescale (integer -> integer; the requantization after an accumulator)
    Per element, with ``c`` its index along ``axis`` and every per-channel
    attribute read at ``c`` (or at 0 when it holds one entry), in int64:

    1. ``v = x - input_zero_point``
    2. by ``mode``:

       ``floating-point``  ``r = round_half_away((double)v * scales[c])``
                           (``r`` stays a double until step 3)
       ``fixed-point16``   ``r = (v * multipliers[c] + half(p)) >> p``,
       ``fixed-point32``   ``p = shifts[c]``, ``half(p) = 1 << (p - 1)`` or 0
                           when p = 0; multipliers fit in int16 / int32
       ``single-shift``    ``r = (v + half(s)) >> s`` with ``s = shifts[c]``
       ``double-shift``    ``r = (v + (v << left_shifts[c]) + half(s)) >> s``
                           with ``s = shifts[c]`` (factor (1 + 2**l) / 2**s)

    3. ``y = clamp(r + zero_point, out_min[c], out_max[c])`` (saturation comes
       last; the bounds default to the range of ``dtype``), stored as ``dtype``.

    The bounds also implement a fused ReLU (``out_min = zero_point``) or ReLU6
    (``out_max = zero_point + round(6 / output_scale)``), possibly per channel.
    The products in step 2 are exact in int64 for every graph the quantizer
    writes (it checks worst-case accumulator bounds).  ``input_scales`` (per
    channel or one) and ``output_scale`` are informational, for exporters: the
    real value of one input step (the accumulator scale ``s_x * s_w``) and of
    one output step; the mode's parameters approximate their ratio.

conv2d / gemm / matmul with integer operands
    ``x`` i8/u8/i16, weights i8/i16 (+ bias of the accumulator type) give the
    exact sum ``bias[m] + sum(x * w)`` in the accumulator type: i32 when both
    operands have at most 8 bits, else i64.  Padding cells of a convolution
    contribute 0 (conv inputs always have zero point 0); groups and depthwise
    convolutions as in the float op.  Gemm needs ``alpha = beta = 1`` and no
    fused activation (clamps live in the following ``rescale``).  The
    accumulator never overflows in quantizer output (checked), so an
    implementation may accumulate in int32.

add / sub with integer operands
    ``a + b`` / ``a - b`` (broadcasting), exact, as i32 (i64 if an operand is
    i64).  Both operands share one scale and zero point 0 (the quantizer
    inserts a ``rescale`` on the finer input, or produces it at the coarser
    scale); the following ``rescale`` maps that scale to the output's.

mul with integer operands
    ``a * b`` (broadcasting: a squeeze-excite gate [N, C, 1, 1] times the
    feature map), exact, as i32; operands of at most 16 bits, any scales: the
    product's scale is ``s_a * s_b``, brought to the output's by the following
    ``rescale``.

conv_transpose2d with integer operands
    as conv2d: ``bias[m] + sum(x * w)`` over the input cells that reach each
    output cell, exact in the accumulator type, groups as in the float op.

resize on integers
    nearest copies the source element the float op would read (same
    coordinate rule): the result keeps the input's dtype and scale.  linear
    (8/16-bit input) gives an i32: along each resized axis, the float op's
    weight ``frac`` of the upper source index becomes ``w_hi =
    round_half_away(frac * 128)`` and ``w_lo = 128 - w_hi``
    (``integer.resize_weights``), and the exact sum of ``w * x`` over the
    source corners is the result; its scale is the input's divided by
    ``128 ** (resized axes)``, brought back by the following ``rescale``.

max_pool2d / global_max_pool
    maximum of the window cells inside the input (padding never wins); a
    window with no cell inside the input gives the dtype minimum.

avg_pool2d / global_avg_pool (integer, same dtype out)
    ``S`` = sum of the window cells inside the input (exact, int64), ``n`` the
    divisor of the float op (cells inside the input, or inside the padded input
    with ``count_include_pad``); result ``sign(S) * ((2*|S| + n) // (2*n))``,
    i.e. S / n rounded half away from zero; ``n = 0`` gives 0.  The result
    keeps the input's scale and zero point 0.

relu / clip / max / min on integers
    ``max(x, 0)``; ``clamp(x, ceil(min), floor(max))`` (bounds saturated to
    the dtype); element-wise max/min of two tensors of the same dtype.

concat, reshape, transpose, slice, split, pad, identity
    move bits unchanged; a constant ``pad`` writes ``value`` (integral: the
    quantized pad value) converted to the dtype.  Concat operands share one
    scale and dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph import Operation
from ..integer import RESCALE_MODES, dtype_bounds  # noqa: F401  (re-exported)
from ..types import DType, TensorType
from .registry import register_op
from .shape_rules import normalize_axis


#: Element types an integer tensor of the quantized IR may have.
QUANTIZED_DTYPES = {d.value: d for d in (DType.I8, DType.U8, DType.I16, DType.I32, DType.I64)}

#: Largest multiplier of each fixed-point mode (the multiplier is a signed int16/int32).
FIXED_POINT_LIMITS = {"fixed-point16": (1 << 15) - 1, "fixed-point32": (1 << 31) - 1}

MAX_SHIFT = 62


def integer_dtype(op: Operation, name: str) -> DType:
    """The DType spelled ``name`` (``"i8"``...), or ``op.error``."""
    dtype = QUANTIZED_DTYPES.get(name)
    if dtype is None:
        raise op.error(f"dtype {name!r} is not one of {sorted(QUANTIZED_DTYPES)}")
    return dtype


def _bits(dtype: DType) -> int:
    return dtype.itemsize * 8


def accumulator_dtype(op: Operation, dtypes) -> DType:
    """Result type of an integer product-sum: i32 when every operand has at most
    8 bits, else i64.  Raises when integer and float operands are mixed."""
    dtypes = list(dtypes)
    if not all(d.is_integer for d in dtypes):
        raise op.error("mixes integer and float operands: "
                       f"{sorted({d.value for d in dtypes})}")
    return DType.I32 if all(_bits(d) <= 8 for d in dtypes) else DType.I64


def check_integer_layer(op: Operation, types, weight_index: int | None = 1) -> DType:
    """Shape-rule helper of conv2d/gemm/matmul with integer operands: signed weights
    (operand ``weight_index``), bias of the accumulator type, no fused activation.
    Returns the accumulator type."""
    acc = accumulator_dtype(op, [t.dtype for t in types[:2]])
    if weight_index is not None and types[weight_index].dtype is DType.U8:
        raise op.error("integer weights must be signed (i8/i16), got u8")
    if len(types) > 2 and types[2].dtype is not acc:
        raise op.error(f"the bias of an integer layer must be {acc.value} (the accumulator "
                       f"type), got {types[2].dtype.value}")
    if getattr(op, "activation", "none") != "none":
        raise op.error("an integer layer cannot carry a fused activation; clamp in the "
                       "following rescale instead")
    return acc


def _check_scale(op: Operation, scale: float) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise op.error(f"scale must be a finite positive number, got {scale}")


def _check_zero_point(op: Operation, zero_point: int, dtype: DType, what: str) -> None:
    lo, hi = dtype_bounds(dtype)
    if not lo <= zero_point <= hi:
        raise op.error(f"{what} {zero_point} is outside the range [{lo}, {hi}] of {dtype.value}")


@register_op
@dataclass(eq=False, kw_only=True)
class Quantize(Operation):
    """Float to integer: ``clamp(round_half_away(x / scale) + zero_point)`` (module doc)."""

    OP_NAME = "quantize"

    scale: float = 1.0
    zero_point: int = 0
    dtype: str = "i8"

    def infer(self, types):
        x = types[0]
        if not x.dtype.is_float:
            raise self.error(f"expects a float operand, got {x}")
        _check_scale(self, self.scale)
        dtype = integer_dtype(self, self.dtype)
        _check_zero_point(self, self.zero_point, dtype, "zero_point")
        return [x.with_dtype(dtype)]


@register_op
@dataclass(eq=False, kw_only=True)
class Dequantize(Operation):
    """Integer to f32: ``(q - zero_point) * scale`` (module doc)."""

    OP_NAME = "dequantize"

    scale: float = 1.0
    zero_point: int = 0

    def infer(self, types):
        q = types[0]
        if not q.dtype.is_integer:
            raise self.error(f"expects an integer operand, got {q}")
        _check_scale(self, self.scale)
        _check_zero_point(self, self.zero_point, q.dtype, "zero_point")
        return [q.with_dtype(DType.F32)]


@register_op
@dataclass(eq=False, kw_only=True)
class Rescale(Operation):
    """Integer requantization: scale an accumulator (or any integer tensor) to ``dtype``.

    See the module docstring for the exact arithmetic of each ``mode``.  Per-channel
    attributes hold one entry (per tensor) or one per index of ``axis``.
    """

    OP_NAME = "rescale"

    mode: str = "floating-point"
    axis: int = 1
    scales: tuple[float, ...] = ()
    multipliers: tuple[int, ...] = ()
    shifts: tuple[int, ...] = ()
    left_shifts: tuple[int, ...] = ()
    input_zero_point: int = 0
    zero_point: int = 0
    out_min: tuple[int, ...] = ()
    out_max: tuple[int, ...] = ()
    dtype: str = "i8"
    input_scales: tuple[float, ...] = ()
    output_scale: float = 0.0

    def channels(self, shape: tuple[int, ...]) -> int:
        if not shape:
            return 1
        return shape[normalize_axis(self, self.axis, len(shape))]

    def infer(self, types):
        x = types[0]
        if not x.dtype.is_integer:
            raise self.error(f"expects an integer operand, got {x}")
        dtype = integer_dtype(self, self.dtype)
        if self.mode not in RESCALE_MODES:
            raise self.error(f"mode {self.mode!r} is not one of {list(RESCALE_MODES)}")
        channels = self.channels(x.shape)
        _check_zero_point(self, self.input_zero_point, x.dtype, "input_zero_point")
        _check_zero_point(self, self.zero_point, dtype, "zero_point")
        if not (math.isfinite(self.output_scale) and self.output_scale >= 0):
            raise self.error(f"output_scale must be finite and >= 0, got {self.output_scale}")
        if len(self.input_scales) not in (0, 1, channels) or not all(
                math.isfinite(v) and v > 0 for v in self.input_scales):
            raise self.error(f"input_scales needs 0, 1 or {channels} finite positive entries")

        used = {"floating-point": ("scales",), "fixed-point16": ("multipliers", "shifts"),
                "fixed-point32": ("multipliers", "shifts"), "single-shift": ("shifts",),
                "double-shift": ("shifts", "left_shifts")}[self.mode]
        for name in ("scales", "multipliers", "shifts", "left_shifts"):
            values = getattr(self, name)
            if name not in used:
                if values:
                    raise self.error(f"mode {self.mode!r} takes no {name}")
                continue
            if len(values) not in (1, channels):
                raise self.error(f"{name} has {len(values)} entries; expected 1 or {channels} "
                                 f"(the size of axis {self.axis})")
        if self.mode == "floating-point":
            if not all(math.isfinite(s) and s >= 0 for s in self.scales):
                raise self.error("scales must be finite and >= 0")
        if self.mode in FIXED_POINT_LIMITS:
            limit = FIXED_POINT_LIMITS[self.mode]
            if not all(0 <= m <= limit for m in self.multipliers):
                raise self.error(f"{self.mode} multipliers must lie in [0, {limit}]")
        if not all(0 <= s <= MAX_SHIFT for s in (*self.shifts, *self.left_shifts)):
            raise self.error(f"shifts must lie in [0, {MAX_SHIFT}]")

        lo, hi = dtype_bounds(dtype)
        for name in ("out_min", "out_max"):
            values = getattr(self, name)
            if len(values) not in (0, 1, channels):
                raise self.error(f"{name} has {len(values)} entries; expected 0, 1 or {channels}")
            if not all(lo <= v <= hi for v in values):
                raise self.error(f"{name} must lie in the range [{lo}, {hi}] of {dtype.value}")
        mins = self.out_min or (lo,)
        maxs = self.out_max or (hi,)
        count = max(len(mins), len(maxs))
        for c in range(count):
            if mins[c % len(mins)] > maxs[c % len(maxs)]:
                raise self.error(f"out_min exceeds out_max at channel {c}")
        return [TensorType(x.shape, dtype, x.layout)]

    # -- helpers for kernels and exporters ------------------------------------------
    def varying(self) -> tuple[str, ...]:
        """The per-channel attributes whose entries differ (the others act per tensor)."""
        return tuple(name for name in ("scales", "multipliers", "shifts", "left_shifts",
                                       "out_min", "out_max")
                     if len(set(getattr(self, name))) > 1)

    def bounds(self, channels: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (out_min, out_max) as int64 arrays of length ``channels``."""
        lo, hi = dtype_bounds(integer_dtype(self, self.dtype))
        return (per_channel(self.out_min or (lo,), channels, np.int64),
                per_channel(self.out_max or (hi,), channels, np.int64))

    def effective_multipliers(self, channels: int) -> np.ndarray:
        """The real factor each channel is multiplied by (before rounding), float64."""
        if self.mode == "floating-point":
            return per_channel(self.scales, channels, np.float64)
        shifts = per_channel(self.shifts, channels, np.float64)
        if self.mode in FIXED_POINT_LIMITS:
            return per_channel(self.multipliers, channels, np.float64) * np.exp2(-shifts)
        if self.mode == "single-shift":
            return np.exp2(-shifts)
        left = per_channel(self.left_shifts, channels, np.float64)
        return (1.0 + np.exp2(left)) * np.exp2(-shifts)


def per_channel(values, channels: int, dtype) -> np.ndarray:
    """A per-channel attribute (1 or ``channels`` entries) as an array of ``channels``."""
    array = np.asarray(values, dtype=dtype).reshape(-1)
    if array.size == 1:
        return np.full(channels, array[0], dtype=dtype)
    if array.size != channels:
        raise ValueError(f"{array.size} entries for {channels} channels")
    return array
