"""32-bit requantization for the C++ integer kernels' fused epilogues.

The generic rescale (ir/ops/quant.py, spelled by the generic ``requantize_function``)
computes ``clamp(((v * m + half(s)) >> s) + z, lo, hi)`` in int64: ``v * m`` of an int32
accumulator and a 16- or 32-bit multiplier does not fit int32.  Vectorised, that is int64
lanes (half as many per vector, and vpmullq), and on pointwise convolutions with few input
channels the epilogue costs more than the dot products.

For m >= 0 the rounded product is non-decreasing in v, so every v above the smallest ``vhi``
whose result reaches ``hi`` gives ``hi`` after the clamp, and every v below the largest
``vlo`` whose result is at most ``lo`` gives ``lo``: clamping v to [vlo, vhi] first changes
no output.  Over that range ``|v * m| + half`` is about ``(hi - lo + 2) * 2^s``, which fits
int32 for 8-bit outputs and the usual shifts; this module proves it per channel (else
None: the int64 function stays) and returns the tables of ``requantize_i32`` in
templates/cpp/spelling.j2.
"""

from __future__ import annotations

import numpy as np

from ...ir.ops.quant import per_channel

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _multiplier_shift(op, channels: int):
    """Per-channel (multiplier, shift) arrays with which every integer mode of ``op`` is
    ``((v * m + half) >> s) + z``; None for floating-point or an input zero point."""
    if op.input_zero_point or op.mode not in ("fixed-point16", "fixed-point32",
                                               "single-shift", "double-shift"):
        return None
    shifts = per_channel(op.shifts, channels, np.int64)
    if op.mode in ("fixed-point16", "fixed-point32"):
        mults = per_channel(op.multipliers, channels, np.int64)
    elif op.mode == "single-shift":
        mults = np.ones(channels, np.int64)
    else:   # v + (v << l) = v * (1 + 2^l)
        mults = 1 + (np.int64(1) << per_channel(op.left_shifts, channels, np.int64))
    return mults, shifts


def requant32_tables(op, channels: int) -> dict[str, list[int]] | None:
    """Per-channel int32 parameters {vlo, vhi, m, half, s, lo, hi} of ``op`` when the
    32-bit form is exact for every int32 accumulator, else None."""
    factors = _multiplier_shift(op, channels)
    if factors is None:
        return None
    mults, shifts = factors
    los, his = op.bounds(channels)
    z = int(op.zero_point)
    out = {key: [] for key in ("vlo", "vhi", "m", "half", "s", "lo", "hi")}
    for m, s, lo, hi in zip(mults.tolist(), shifts.tolist(), los.tolist(), his.tolist()):
        if m < 0 or not 0 <= s <= 30 or m > INT32_MAX or not INT32_MIN <= lo <= hi <= INT32_MAX:
            return None
        half = (1 << s) >> 1
        if m == 0:
            vlo = vhi = 0     # every v gives (half >> s) + z = z
        else:
            # Smallest v with ((v*m + half) >> s) >= hi - z; largest with it <= lo - z.
            vhi = -((half - (hi - z) * (1 << s)) // m)
            vlo = ((lo - z + 1) * (1 << s) - half - 1) // m
        vlo, vhi = max(vlo, INT32_MIN), min(vhi, INT32_MAX)
        if vlo * m < INT32_MIN or vhi * m + half > INT32_MAX:
            return None
        if not INT32_MIN <= ((vlo * m + half) >> s) + z <= ((vhi * m + half) >> s) + z <= INT32_MAX:
            return None
        for key, value in zip(out, (vlo, vhi, m, half, s, lo, hi)):
            out[key].append(value)
    return out


def requant64_tables(op, channels: int) -> dict[str, list[int]] | None:
    """Per-channel parameters {m, half, s, z, lo, hi} of ``op`` as the generic int64
    function computes it, ``clamp(((v * m + half) >> s) + z, lo, hi)``, for int64 vector
    lanes: an int32 accumulator times a multiplier below 2^31 fits int64.  None for the
    modes this does not cover (floating-point, an input zero point)."""
    factors = _multiplier_shift(op, channels)
    if factors is None:
        return None
    mults, shifts = factors
    if (mults < INT32_MIN).any() or (mults > INT32_MAX).any() or (shifts < 0).any() \
            or (shifts > 62).any():
        return None
    los, his = op.bounds(channels)
    return {"m": mults.tolist(), "half": ((np.int64(1) << shifts) >> 1).tolist(),
            "s": shifts.tolist(), "z": [int(op.zero_point)] * channels,
            "lo": los.tolist(), "hi": his.tolist()}


__all__ = ["requant32_tables", "requant64_tables"]
