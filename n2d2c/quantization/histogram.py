"""Value histograms and the clipping thresholds N2D2 derives from them.

A histogram covers ``[0, M]`` (values never negative during calibration) or
``[-M, M]``, with ``M`` the largest magnitude seen, in equal-width bins.  Each
threshold search returns the clipping value ``T`` (> 0, or 0 for an all-zero
histogram) that the quantization range ``[qmin, qmax]`` is mapped onto:

* ``None``:           ``T = M``;
* ``MSE``:            the candidate ``T = k * M / 1000`` (k = 1..1000; searched
  coarse-to-fine, every 10th candidate then the neighbours of the best) minimising
  ``sum_i p_i (v_i - clamp(round(v_i q / T), qmin, qmax) T / q)^2`` over the bin
  centres ``v_i`` with frequencies ``p_i`` (q = qmax);
* ``KL-Divergence``:  the candidate minimising ``sum_i p_i log(p_i / q_i)``,
  where the histogram is re-binned into ``2**nbbits`` bins over ``[0, T]`` (or
  ``[-T, T]``), values beyond ``T`` falling in the edge bins, and ``q_i`` is the
  count of the coarse bin holding bin ``i``, normalised over all bins up to the
  last non-empty one (empty bins included);
* ``Quantile``:       the smallest bin edge below which a fraction ``quantile``
  of the magnitudes lies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BINS = 2048
CANDIDATES = 1000


@dataclass
class Histogram:
    """Counts of values in ``bins`` equal bins over ``[lo, hi]`` (lo is 0 or -hi)."""

    lo: float
    hi: float
    counts: np.ndarray

    @classmethod
    def empty(cls, max_abs: float, signed: bool, bins: int = DEFAULT_BINS) -> "Histogram":
        n = 2 * bins if signed else bins
        return cls(-max_abs if signed else 0.0, max_abs, np.zeros(n, np.int64))

    @classmethod
    def of(cls, values: np.ndarray, signed: bool | None = None,
           bins: int = DEFAULT_BINS) -> "Histogram":
        values = np.asarray(values, np.float64).ravel()
        values = values[np.isfinite(values)]
        max_abs = float(np.abs(values).max()) if values.size else 0.0
        if signed is None:
            signed = bool(values.size and values.min() < 0)
        hist = cls.empty(max_abs, signed, bins)
        hist.add(values)
        return hist

    @property
    def signed(self) -> bool:
        return self.lo < 0

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def width(self) -> float:
        return (self.hi - self.lo) / len(self.counts)

    def centers(self) -> np.ndarray:
        return self.lo + (np.arange(len(self.counts)) + 0.5) * self.width

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, np.float64).ravel()
        values = values[np.isfinite(values)]
        if not values.size:
            return
        if self.hi <= self.lo:  # all-zero range: everything lands in the first bin
            self.counts[0] += values.size
            return
        n = len(self.counts)
        idx = np.floor((np.clip(values, self.lo, self.hi) - self.lo) / (self.hi - self.lo) * n)
        idx = np.minimum(idx.astype(np.int64), n - 1)
        self.counts += np.bincount(idx, minlength=n)

    def magnitudes(self) -> tuple[np.ndarray, np.ndarray]:
        """(upper bin edges, counts) of |value|, folding a signed histogram."""
        if not self.signed:
            return self.lo + (np.arange(1, len(self.counts) + 1)) * self.width, self.counts
        half = len(self.counts) // 2
        folded = self.counts[half:] + self.counts[:half][::-1]
        return (np.arange(1, half + 1)) * self.width, folded


def _search(max_abs: float, cost) -> float:
    """argmin of ``cost(thresholds) -> costs`` over ``T = k * max_abs / 1000``,
    k = 1..1000: every 10th candidate first, then every candidate around the best
    (the same minimum as the full sweep for the smooth costs used here)."""
    def evaluate(ks):
        ks = np.asarray(ks)
        return ks, np.asarray(cost(max_abs * ks / CANDIDATES), np.float64)

    ks, costs = evaluate(np.arange(10, CANDIDATES + 1, 10))
    k0 = int(ks[np.argmin(costs)])
    fine_ks, fine_costs = evaluate(np.arange(max(1, k0 - 9), min(CANDIDATES, k0 + 9) + 1))
    all_ks = np.concatenate([ks, fine_ks])
    all_costs = np.concatenate([costs, fine_costs])
    best = np.flatnonzero(all_costs == all_costs.min())
    return float(max_abs * all_ks[best].min() / CANDIDATES)  # ties: the smallest threshold


def threshold_mse(hist: Histogram, qmin: int, qmax: int) -> float:
    """The clipping value minimising the quantization MSE over the histogram."""
    if hist.total == 0 or hist.hi <= 0:
        return 0.0
    nz = hist.counts > 0
    p = hist.counts[nz] / hist.total
    v = hist.centers()[nz]

    def cost(thresholds):
        t = thresholds[:, None]
        scale = qmax / t
        approx = np.clip(np.rint(v[None, :] * scale), qmin, qmax) / scale
        return ((v[None, :] - approx) ** 2 * p[None, :]).sum(axis=1)

    return _search(max(abs(hist.lo), hist.hi), cost)


def threshold_kl(hist: Histogram, nbbits: int, signed: bool) -> float:
    """N2D2's KL-divergence threshold: compare the histogram with its re-binning
    into ``2**nbbits`` bins over the clipped range (module docstring)."""
    if hist.total == 0 or hist.hi <= 0:
        return 0.0
    counts = hist.counts.astype(np.float64)
    last = int(np.flatnonzero(counts)[-1]) + 1  # bins up to the last non-empty one
    counts = counts[:last]
    v = hist.centers()[:last]
    nz = counts > 0
    p = counts[nz] / counts.sum()
    levels = 1 << nbbits

    def divergence(t):
        lo = -t if signed else 0.0
        idx = np.floor((np.clip(v, lo, t) - lo) / (t - lo) * levels).astype(np.int64)
        idx = np.minimum(idx, levels - 1)
        coarse = np.bincount(idx, weights=counts, minlength=levels)
        q = coarse[idx]
        q = q[nz] / q.sum()   # normalised over every bin, empty ones included (N2D2)
        return float(np.sum(p * np.log(p / q)))

    return _search(max(abs(hist.lo), hist.hi), lambda ts: [divergence(t) for t in ts])


def threshold_quantile(hist: Histogram, quantile: float) -> float:
    """Smallest upper bin edge with at least ``quantile`` of the magnitudes below it."""
    if hist.total == 0 or hist.hi <= 0:
        return 0.0
    edges, counts = hist.magnitudes()
    cumulative = np.cumsum(counts)
    k = int(np.searchsorted(cumulative, quantile * cumulative[-1] - 1e-9))
    return float(edges[min(k, len(edges) - 1)])


def clipping_threshold(hist: Histogram, mode: str, *, nbbits: int, qmin: int, qmax: int,
                       signed: bool, quantile: float, max_abs: float) -> float:
    """The threshold of ``mode`` (N2D2 spelling) for a value whose exact largest
    magnitude is ``max_abs``."""
    if mode == "None" or hist is None:
        return max_abs
    if mode == "MSE":
        t = threshold_mse(hist, qmin, qmax)
    elif mode == "KL-Divergence":
        t = threshold_kl(hist, nbbits, signed)
    elif mode == "Quantile":
        t = threshold_quantile(hist, quantile)
    else:
        raise ValueError(mode)
    return min(t, max_abs) if max_abs > 0 else t
