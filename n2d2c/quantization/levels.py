"""Quantization levels: how one value is stored as integers (``QSpec``), the levels
of an ``nbits`` activation, and real values turned into levels."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..ir import DType
from ..ir.integer import dtype_bounds, round_half_away, saturate

if TYPE_CHECKING:
    from .rescaling import RescaleChoice

# Two scales this close (relatively) are one scale: no requantization between them.
SCALE_TOLERANCE = 1e-9


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


def same_spec(a: QSpec, b: QSpec) -> bool:
    return a.dtype is b.dtype and abs(a.scale - b.scale) <= SCALE_TOLERANCE * max(a.scale, b.scale)


def to_levels(values, spec: QSpec) -> np.ndarray:
    """Real ``values`` as integers of ``spec``: rounded half away, saturated to its dtype."""
    return saturate(round_half_away(values / spec.scale), spec.dtype)


def quantized_bound(bound: float, spec: QSpec) -> float:
    """A clamp bound in levels of ``spec`` (infinite bounds stay infinite)."""
    if math.isinf(bound):
        return bound
    return float(to_levels(bound, spec))


def clamp_levels(lo: np.ndarray, hi: np.ndarray, spec: QSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel real clamp bounds (infinite: none) as int64 levels within the
    saturation range of ``spec``, ``lo <= hi``."""
    lo_q = np.where(np.isfinite(lo), round_half_away(np.where(np.isfinite(lo), lo, 0)
                                                     / spec.scale), spec.sat_lo)
    hi_q = np.where(np.isfinite(hi), round_half_away(np.where(np.isfinite(hi), hi, 0)
                                                     / spec.scale), spec.sat_hi)
    lo_q = np.clip(lo_q, spec.sat_lo, spec.sat_hi).astype(np.int64)
    hi_q = np.clip(hi_q, spec.sat_lo, spec.sat_hi).astype(np.int64)
    return lo_q, np.maximum(lo_q, hi_q)


def adjusted_scale(choice: RescaleChoice, s_acc: float, s_y: float) -> float | None:
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
