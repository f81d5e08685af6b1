"""Calibration: run the float graph on sample data and record the range and a
histogram of every float activation (N2D2's RangeStats + Histogram pair).

Two sweeps over the data: the first finds each value's range, the second fills
histograms over ``[0, M]`` (never negative) or ``[-M, M]``.  When all values of
all samples fit in ``cache_bytes`` the second sweep reuses the first one's
results instead of simulating again.  ``CalibrationStats.save``/``load`` keep
the statistics in an .npz (``calib-reload``), tied to a fingerprint of the graph
and its weights.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..errors import InputError, UsageError
from ..ir import Graph, Value, print_graph
from ..ir.ops import Constant
from .histogram import DEFAULT_BINS, Histogram

FORMAT_VERSION = 1


@contextlib.contextmanager
def single_threaded():
    """Run numba's parallel kernels on one thread: per-sample calibration runs are
    tiny, and thread wake-ups would dominate (and vary with machine load)."""
    try:
        import numba
        before = numba.get_num_threads()
        numba.set_num_threads(1)
    except Exception:  # numba missing or refusing: just run
        yield
        return
    try:
        yield
    finally:
        numba.set_num_threads(before)


class ValueRunner:
    """Simulates ``graph`` and returns the arrays of chosen values (not just outputs)."""

    def __init__(self, graph: Graph, values: Sequence[Value]):
        from ..runtime import Simulator
        view = graph.view(list(dict.fromkeys(values)))
        self.values = view.outputs
        self.sim = Simulator(view)

    def run(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(self.sim.run(feed))


@dataclass
class ValueStats:
    """Range and histogram of one float value over the calibration data."""

    min: float
    max: float
    hist: Histogram | None = None

    @property
    def max_abs(self) -> float:
        return max(abs(self.min), abs(self.max))


def observable_values(graph: Graph) -> list[Value]:
    """Graph inputs and op results that are float activations (not constants)."""
    out = [v for v in graph.inputs if v.type.dtype.is_float]
    for op in graph.ops:
        if isinstance(op, Constant):
            continue
        out.extend(v for v in op.outputs if v.type.dtype.is_float)
    return out


def graph_fingerprint(graph: Graph) -> str:
    """Hash of the graph structure and of every constant's bytes."""
    digest = hashlib.sha256(print_graph(graph, inline_limit=0, resources={}).encode())
    for op in graph.ops:
        if isinstance(op, Constant):
            array = np.ascontiguousarray(op.value)
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(array.tobytes())
    return digest.hexdigest()[:32]


class CalibrationStats:
    """Per-value statistics keyed by value name."""

    def __init__(self, values: dict[str, ValueStats], samples: int, fingerprint: str = "",
                 bins: int = DEFAULT_BINS):
        self.values = values
        self.samples = samples
        self.fingerprint = fingerprint
        self.bins = bins

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def __getitem__(self, name: str) -> ValueStats:
        return self.values[name]

    def get(self, name: str) -> ValueStats | None:
        return self.values.get(name)

    # -- persistence ---------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        names = list(self.values)
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps({"version": FORMAT_VERSION, "samples": self.samples,
                                         "fingerprint": self.fingerprint, "bins": self.bins,
                                         "names": names})),
            "ranges": np.array([[s.min, s.max] for s in self.values.values()], np.float64)
            .reshape(-1, 2),
        }
        for i, stats in enumerate(self.values.values()):
            if stats.hist is not None:
                arrays[f"h{i}"] = stats.hist.counts
                arrays[f"r{i}"] = np.array([stats.hist.lo, stats.hist.hi], np.float64)
        path = Path(path)
        from ..util.atomic import atomic_write_bytes
        import io
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CalibrationStats":
        try:
            with np.load(path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                ranges = archive["ranges"]
                hists = {k: archive[k] for k in archive.files if k[0] in "hr" and k[1:].isdigit()}
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read calibration statistics '{path}': {exc}") from None
        if meta.get("version") != FORMAT_VERSION:
            raise InputError(f"calibration statistics '{path}' have format "
                             f"{meta.get('version')}, expected {FORMAT_VERSION}")
        values = {}
        for i, name in enumerate(meta["names"]):
            hist = None
            if f"h{i}" in hists:
                lo, hi = hists[f"r{i}"]
                hist = Histogram(float(lo), float(hi), hists[f"h{i}"].astype(np.int64))
            values[name] = ValueStats(float(ranges[i, 0]), float(ranges[i, 1]), hist)
        return cls(values, int(meta["samples"]), meta["fingerprint"], int(meta["bins"]))


def calibrate(graph: Graph, feeds: Iterable[Mapping[str, np.ndarray]], *,
              bins: int = DEFAULT_BINS, cache_bytes: int = 256 << 20) -> CalibrationStats:
    """Statistics of every float activation of ``graph`` over ``feeds``."""
    feeds = list(feeds)
    if not feeds:
        raise UsageError("calibration needs at least one sample")
    values = observable_values(graph)
    runner = ValueRunner(graph, values)
    names = [v.name for v in values]
    per_sample = sum(v.type.size * 8 for v in values)
    keep = per_sample * len(feeds) <= cache_bytes
    lows = {n: np.inf for n in names}
    highs = {n: -np.inf for n in names}
    cached: list[dict[str, np.ndarray]] = []
    with single_threaded():
        for feed in feeds:
            result = runner.run(feed)
            for n in names:
                a = result[n]
                finite = a[np.isfinite(a)] if not np.all(np.isfinite(a)) else a
                if finite.size:
                    lows[n] = min(lows[n], float(finite.min()))
                    highs[n] = max(highs[n], float(finite.max()))
            if keep:
                cached.append(result)
        stats = {}
        for n in names:
            lo = lows[n] if np.isfinite(lows[n]) else 0.0
            hi = highs[n] if np.isfinite(highs[n]) else 0.0
            hist = Histogram.empty(max(abs(lo), abs(hi)), lo < 0, bins)
            stats[n] = ValueStats(lo, hi, hist)
        source = cached if keep else (runner.run(feed) for feed in feeds)
        for result in source:
            for n in names:
                stats[n].hist.add(result[n])
    return CalibrationStats(stats, len(feeds), graph_fingerprint(graph), bins)


def calibrate_or_reload(graph: Graph, feeds, path: str | os.PathLike | None) -> CalibrationStats:
    """``calibrate``, reusing the statistics stored at ``path`` when they were taken
    on this very graph with as many samples (any count when no data is given);
    otherwise compute and store them."""
    feeds = list(feeds)
    if path:
        path = Path(path)
        if path.exists():
            stats = CalibrationStats.load(path)
            if stats.fingerprint == graph_fingerprint(graph) and (
                    not feeds or stats.samples == len(feeds)):
                return stats
            warnings.warn(f"calibration statistics '{path}' were taken on another graph or "
                          "sample count; recalibrating", stacklevel=2)
    stats = calibrate(graph, feeds)
    if path:
        stats.save(path)
    return stats
