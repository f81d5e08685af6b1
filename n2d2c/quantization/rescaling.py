"""Approximating a rescaling factor ``M`` (accumulator scale / output scale) by the
integer parameters of the IR's ``rescale`` op, with N2D2's algorithms.

* ``floating-point``: ``M`` itself.
* ``fixed-point16`` / ``fixed-point32``: ``M ~ m * 2**-p`` with one ``p`` per layer,
  the largest (<= 50) for which ``round(max(M) * 2**p)`` stays below the int16 /
  int32 maximum, and ``m = round(M * 2**p)`` per channel.  ``p`` is lowered if
  ``|acc| * m`` could leave int64.
* ``single-shift``: ``M ~ 2**-e`` with ``e = ceil(log2(1 / M))``.  If that power
  is within 2% of ``M`` (``2**-e / M >= 0.98``) it is used as is; otherwise the
  next larger power ``2**-(e-1)`` is used and the factor ``2**-(e-1) / M`` (in
  (1, 2]) is folded into the layer's weights, whose scale grows by it, so the
  product stays exact.
* ``double-shift``: ``M ~ 2**-e0 + 2**-e1``: ``e0`` as above, ``e1`` the same rule
  on the remainder; within 2% it is kept, else the last term doubles and the
  factor (now >= 1) is folded into the weights.

A shift can only divide: a channel with ``M > 1`` makes the layer fall back to
``fixed-point16`` (with a warning naming the layer).  Layers without weights
(add, matmul of two activations) cannot absorb a factor: they keep the power of
two at or below ``M`` and their output scale grows instead (``adjust_output``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..ir.integer import INT64_MAX, round_half_away_int
from ..ir.ops.quant import FIXED_POINT_LIMITS, MAX_SHIFT

ROUNDING_THRESHOLD = 0.98
MAX_FRACTIONAL_BITS = 50


@dataclass
class RescaleChoice:
    """The parameters of one ``rescale`` op and what they mean."""

    mode: str
    scales: tuple[float, ...] = ()
    multipliers: tuple[int, ...] = ()
    shifts: tuple[int, ...] = ()
    left_shifts: tuple[int, ...] = ()
    effective: np.ndarray = field(default_factory=lambda: np.ones(1))  # real factor per channel
    fold: np.ndarray | None = None    # per-channel factor (>= 1) to fold into the weights
    fallback: str = ""                # why the requested mode was not used

    def attributes(self) -> dict:
        return {"mode": self.mode, "scales": self.scales, "multipliers": self.multipliers,
                "shifts": self.shifts, "left_shifts": self.left_shifts}

    def describe(self) -> str:
        eff = self.effective
        if self.mode == "floating-point":
            text = span(eff)
        elif self.mode.startswith("fixed-point"):
            text = f"{_span_int(self.multipliers)} * 2^-{_span_int(self.shifts)}"
        elif self.mode == "single-shift":
            text = f">> {_span_int(self.shifts)}"
        else:
            text = f"(x + x << {_span_int(self.left_shifts)}) >> {_span_int(self.shifts)}"
        return text


def span(values: np.ndarray) -> str:
    """'lo..hi' of float factors (one number when they are equal), for the report."""
    values = np.asarray(values, np.float64)
    lo, hi = float(values.min()), float(values.max())
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g}..{hi:.4g}"


def _span_int(values) -> str:
    values = list(values)
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}..{hi}"


def compact(values) -> tuple:
    """A per-channel attribute with one entry when every channel has the same value."""
    values = tuple(values)
    return values[:1] if values and all(v == values[0] for v in values) else values


def fixed_point(M: np.ndarray, width: int, acc_bound: int) -> RescaleChoice:
    """``M ~ m * 2**-p`` with ``m`` fitting in a signed ``width``-bit integer.

    A factor too large even for ``p = 0`` gets the largest multiplier (the output
    saturates) and a ``fallback`` note; the caller warns."""
    mode = f"fixed-point{width}"
    limit = FIXED_POINT_LIMITS[mode]
    M = np.asarray(M, np.float64)
    top = float(M.max())
    if round_half_away_int(top) >= limit:
        multipliers = [min(round_half_away_int(float(m)), limit) for m in M]
        return RescaleChoice(mode, multipliers=compact(multipliers), shifts=(0,),
                             effective=np.array(multipliers, np.float64),
                             fallback=f"scaling factor {top:.6g} exceeds the {width}-bit "
                                      f"multiplier range; clamped to {limit}")
    p = 0
    if top > 0:
        while p + 1 <= MAX_FRACTIONAL_BITS and round_half_away_int(top * 2.0 ** (p + 1)) < limit:
            m_next = round_half_away_int(top * 2.0 ** (p + 1))
            if acc_bound * m_next + (1 << p) > INT64_MAX:
                break
            p += 1
    multipliers = [round_half_away_int(float(m) * 2.0 ** p) for m in M]
    effective = np.array(multipliers, np.float64) * 2.0 ** -p
    return RescaleChoice(mode, multipliers=compact(multipliers), shifts=(p,),
                         effective=effective)


def _power_at_or_below(m: float) -> int:
    """The smallest e with 2**-e <= m, treating m within 1e-12 of a power as that
    power (so that a factor computed as s / (s / 2**-e) gives e back)."""
    e = math.ceil(math.log2(1.0 / m) - 1e-12)
    while 2.0 ** -e > m * (1.0 + 1e-12):
        e += 1
    return e


def _single(m: float, allow_up: bool) -> tuple[int, float]:
    """(shift e, factor 2**-e / m folded) for one channel; the factor is 1 if unused."""
    if m <= 0:
        return MAX_SHIFT, 1.0
    e = min(_power_at_or_below(m), MAX_SHIFT)
    precision = 2.0 ** -e / m
    if precision >= ROUNDING_THRESHOLD or not allow_up or e == 0:
        return e, 1.0
    return e - 1, 2.0 ** -(e - 1) / m


def _double(m: float, allow_up: bool) -> tuple[int, int, float]:
    """(e0, e1, fold) with m ~ 2**-e0 + 2**-e1 (e0 <= e1)."""
    if m <= 0:
        return MAX_SHIFT, MAX_SHIFT, 1.0
    e0 = min(_power_at_or_below(m), MAX_SHIFT - 1)
    precision = 2.0 ** -e0 / m
    if precision >= 1.0 - 1e-12:
        e0 += 1
        return e0, e0, 1.0
    rest = m * (1.0 - precision)
    e1 = min(max(_power_at_or_below(rest), e0), MAX_SHIFT)
    precision += 2.0 ** -e1 / m
    if precision >= ROUNDING_THRESHOLD or not allow_up:
        return e0, e1, 1.0
    e1 -= 1
    return e0, e1, (2.0 ** -e0 + 2.0 ** -e1) / m


def approximate(M, mode: str, *, can_fold: bool, acc_bound: int) -> RescaleChoice:
    """Parameters of ``mode`` (IR spelling) for the per-channel factors ``M``.

    ``can_fold``: the layer has weights that can absorb a factor >= 1 (else the
    approximation stays at or below ``M`` and the caller grows the output scale).
    ``acc_bound``: largest |input| of the rescale, to keep int64 products exact.
    """
    M = np.atleast_1d(np.asarray(M, np.float64))
    if mode == "floating-point":
        return RescaleChoice(mode, scales=compact(float(m) for m in M), effective=M.copy())
    if mode in ("fixed-point16", "fixed-point32"):
        return fixed_point(M, 16 if mode.endswith("16") else 32, acc_bound)
    if float(M.max()) > 1.0:
        choice = fixed_point(M, 16, acc_bound)
        if choice.fallback:  # too large for 16 bits: 32-bit multiplier
            choice = fixed_point(M, 32, acc_bound)
        note = (f"scaling factor {float(M.max()):.4g} > 1 cannot be a right shift ({mode}); "
                f"{choice.mode} used")
        choice.fallback = note + (f" ({choice.fallback})" if choice.fallback else "")
        return choice
    if mode == "single-shift":
        pairs = [_single(float(m), can_fold) for m in M]
        shifts = [e for e, _ in pairs]
        fold = np.array([f for _, f in pairs])
        effective = np.exp2(-np.array(shifts, np.float64))
        return RescaleChoice(mode, shifts=compact(shifts), effective=effective,
                             fold=fold if np.any(fold != 1.0) else None)
    if mode == "double-shift":
        triples = [_double(float(m), can_fold) for m in M]
        left = [e1 - e0 for e0, e1, _ in triples]
        shifts = [e1 for _, e1, _ in triples]
        fold = np.array([f for _, _, f in triples])
        effective = np.array([2.0 ** -e0 + 2.0 ** -e1 for e0, e1, _ in triples])
        if acc_bound * (1 + (1 << max(left))) > INT64_MAX:
            choice = fixed_point(M, 32, acc_bound)
            choice.fallback = "double-shift could overflow int64; fixed-point32 used"
            return choice
        return RescaleChoice(mode, shifts=compact(shifts), left_shifts=compact(left),
                             effective=effective, fold=fold if np.any(fold != 1.0) else None)
    raise ValueError(mode)


def requantize_mode(act_mode: str) -> str:
    """Mode of the rescales that move a value between two scales (N2D2's scaling
    cells, which are never shifts): floating-point and fixed-point32 stay as they
    are; fixed-point16, single-shift and double-shift use fixed-point16."""
    if act_mode in ("floating-point", "fixed-point32"):
        return act_mode
    return "fixed-point16"
