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
from ..util.inputs import note_input
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


#: (lowest, highest) finite value of each observed value, by name.
Ranges = dict[str, tuple[float, float]]


class ShardCalibrator:
    """The two calibration sweeps over any subset (shard) of the samples, as
    map-reduce pieces: ``ranges`` of a shard, ``merge_ranges`` of shards (min/max:
    exact and associative), then ``histograms`` of a shard over the merged ranges
    (integer counts: their sum over shards is exact).  Statistics assembled from
    shards are therefore bit-identical to one sweep over all the samples, however
    the samples were split (n2d2c.distributed runs the shards on Dask workers)."""

    def __init__(self, graph: Graph, bins: int = DEFAULT_BINS):
        self.graph = graph
        self.bins = bins
        self.values = observable_values(graph)
        self.names = [v.name for v in self.values]
        self._runner: ValueRunner | None = None

    @property
    def runner(self) -> ValueRunner:
        """The simulator of the observed values, built when a sweep first needs it
        (merging shards' results needs none)."""
        if self._runner is None:
            self._runner = ValueRunner(self.graph, self.values)
        return self._runner

    def bytes_per_sample(self) -> int:
        return sum(v.type.size * 8 for v in self.values)

    def ranges(self, feeds: Iterable[Mapping[str, np.ndarray]],
               keep: list | None = None, keep_count: int | None = None) -> Ranges:
        """Finite range of every value over ``feeds``; the results of the first
        ``keep_count`` samples (all by default) are appended to ``keep`` when given,
        and the histogram sweep reuses them instead of simulating again."""
        lows = {n: np.inf for n in self.names}
        highs = {n: -np.inf for n in self.names}
        with single_threaded():
            for feed in feeds:
                result = self.runner.run(feed)
                for n in self.names:
                    a = result[n]
                    finite = a[np.isfinite(a)] if not np.all(np.isfinite(a)) else a
                    if finite.size:
                        lows[n] = min(lows[n], float(finite.min()))
                        highs[n] = max(highs[n], float(finite.max()))
                if keep is not None and (keep_count is None or len(keep) < keep_count):
                    keep.append(result)
        return {n: (lows[n], highs[n]) for n in self.names}

    def empty_histograms(self, ranges: Ranges) -> dict[str, Histogram]:
        """The bins every shard fills: over [0, M] or [-M, M] of the merged range."""
        hists = {}
        for n in self.names:
            lo, hi = _finite_range(ranges[n])
            hists[n] = Histogram.empty(max(abs(lo), abs(hi)), lo < 0, self.bins)
        return hists

    def histograms(self, feeds_or_results: Iterable, ranges: Ranges, *,
                   simulated: bool = False) -> dict[str, np.ndarray]:
        """Histogram counts of every value over a shard (``simulated``: the items are
        results kept by ``ranges``, not feeds)."""
        hists = self.empty_histograms(ranges)
        with single_threaded():
            for item in feeds_or_results:
                result = item if simulated else self.runner.run(item)
                for n in self.names:
                    hists[n].add(result[n])
        return {n: h.counts for n, h in hists.items()}

    def stats(self, ranges: Ranges, counts: Mapping[str, np.ndarray], samples: int, *,
              fingerprint: str | None = None) -> CalibrationStats:
        """The statistics of merged shards (``fingerprint``: the graph's, when the caller
        has already hashed it)."""
        hists = self.empty_histograms(ranges)
        values = {}
        for n in self.names:
            lo, hi = _finite_range(ranges[n])
            hists[n].counts = np.asarray(counts[n], np.int64).copy()
            values[n] = ValueStats(lo, hi, hists[n])
        return CalibrationStats(values, samples, fingerprint or graph_fingerprint(self.graph),
                                self.bins)


def _finite_range(bounds: tuple[float, float]) -> tuple[float, float]:
    """A value never seen finite (all samples NaN/inf) gets the range [0, 0]."""
    lo, hi = bounds
    return (lo if np.isfinite(lo) else 0.0, hi if np.isfinite(hi) else 0.0)


def merge_ranges(parts: Iterable[Ranges]) -> Ranges:
    """The range over the union of the shards of ``parts``."""
    merged: dict[str, tuple[float, float]] = {}
    for part in parts:
        for n, (lo, hi) in part.items():
            old = merged.get(n, (np.inf, -np.inf))
            merged[n] = (min(old[0], lo), max(old[1], hi))
    return merged


def merge_counts(parts: Iterable[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The histogram counts over the union of the shards of ``parts``."""
    merged: dict[str, np.ndarray] = {}
    for part in parts:
        for n, counts in part.items():
            merged[n] = merged[n] + counts if n in merged else np.array(counts, np.int64)
    return merged


def calibrate(graph: Graph, feeds: Iterable[Mapping[str, np.ndarray]], *,
              bins: int = DEFAULT_BINS, cache_bytes: int = 256 << 20) -> CalibrationStats:
    """Statistics of every float activation of ``graph`` over ``feeds``, in this
    process.  The histogram sweep reuses the range sweep's results of as many samples
    as fit in ``cache_bytes`` and simulates the others again."""
    feeds = list(feeds)
    if not feeds:
        raise UsageError("calibration needs at least one sample")
    shard = ShardCalibrator(graph, bins)
    # Keep as many samples' values as fit in cache_bytes; simulate only the rest again.
    kept: list = []
    ranges = shard.ranges(feeds, kept, cache_bytes // max(1, shard.bytes_per_sample()))
    counts = merge_counts([shard.histograms(kept, ranges, simulated=True),
                           shard.histograms(feeds[len(kept):], ranges)])
    return shard.stats(ranges, counts, len(feeds))


def calibrate_or_reload(graph: Graph, feeds, path: str | os.PathLike | None, *,
                        calibrator=None) -> CalibrationStats:
    """``calibrate``, reusing the statistics stored at ``path`` when they were taken
    on this very graph with as many samples (any count when no data is given);
    otherwise compute and store them.  ``calibrator(graph, feeds)`` replaces
    ``calibrate`` (n2d2c.distributed: the same statistics computed on a cluster)."""
    feeds = list(feeds)
    if path:
        path = Path(path)
        if path.exists():
            stats = CalibrationStats.load(path)
            if stats.fingerprint == graph_fingerprint(graph) and (
                    not feeds or stats.samples == len(feeds)):
                note_input(path)  # reused, so an input of the build (a rewritten one is not)
                return stats
            warnings.warn(f"calibration statistics '{path}' were taken on another graph or "
                          "sample count; recalibrating", stacklevel=2)
    stats = (calibrator or calibrate)(graph, feeds)
    if path:
        stats.save(path)
    return stats
