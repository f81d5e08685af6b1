"""Calibration as map-reduce over Dask workers: each shard's value ranges, merged
exactly; then each shard's histograms over the merged ranges, summed.  The merged
statistics equal a single-process ``calibrate`` on the same samples bit for bit
(``ShardCalibrator`` in quantization/calibration.py)."""

from __future__ import annotations

from ..errors import UsageError
from ..ir import Graph
from ..quantization.calibration import (CalibrationStats, ShardCalibrator, graph_fingerprint,
                                        merge_counts, merge_ranges)
from .cluster import worker_count
from .data import DataRef, feeds_of
from .tasks import run_tasks, share, spans

#: Shards per worker: enough that a slow or lost worker delays the end little.
SHARDS_PER_WORKER = 4


def calibrate_distributed(client, graph: Graph, data: DataRef, *,
                          shards: int | None = None) -> tuple[CalibrationStats, int]:
    """Statistics of every float activation of ``graph`` (the quantizer's prepared
    float graph) over ``data``, computed on ``client``'s workers; returns the stats
    and the number of task retries that happened.

    Each shard's histogram task prefers the worker that ran its range task: that
    worker kept the simulated values of as many of the shard's samples as fit in
    ``KEEP_BYTES`` and simulates only the others again, as a single process does."""
    token = graph_fingerprint(graph)
    shared = [share(client, graph)]
    count = run_tasks(client, _feed_count, [(data,)], description="calibration data",
                      shared=shared)
    total = count.results[0]
    if not total:
        raise UsageError("calibration needs at least one sample")
    workers = max(1, worker_count(client))
    plan = spans(total, shards or workers * SHARDS_PER_WORKER)
    ranges = run_tasks(client, _shard_ranges, [(token, data, a, b) for a, b in plan],
                       description="calibration ranges", shared=shared)
    merged = merge_ranges(ranges.results)
    counts = run_tasks(client, _shard_histograms,
                       [(token, data, a, b, merged) for a, b in plan],
                       description="calibration histograms", shared=shared,
                       prefer=ranges.where)
    stats = ShardCalibrator(graph).stats(merged, merge_counts(counts.results), total,
                                         fingerprint=token)
    return stats, count.retries + ranges.retries + counts.retries


# -- worker side -----------------------------------------------------------------------
#: Simulated values a worker keeps between a shard's two sweeps.
KEEP_BYTES = 256 << 20
_CALIBRATORS: dict[str, ShardCalibrator] = {}
_KEPT: dict[tuple, list] = {}


def _calibrator(graph: Graph, token: str) -> ShardCalibrator:
    """One calibrator (and its compiled simulator) per graph per worker process."""
    if token not in _CALIBRATORS:
        _CALIBRATORS.clear()
        _KEPT.clear()
        _CALIBRATORS[token] = ShardCalibrator(graph)
    return _CALIBRATORS[token]


def _feed_count(graph: Graph, data: DataRef) -> int:
    return len(feeds_of(graph, data))


def _shard_ranges(graph: Graph, token: str, data: DataRef, start: int, stop: int):
    shard = _calibrator(graph, token)
    feeds = feeds_of(graph, data)[start:stop]
    room = KEEP_BYTES // max(1, shard.bytes_per_sample()) - sum(map(len, _KEPT.values()))
    keep: list = []
    ranges = shard.ranges(feeds, keep, max(0, room))
    if keep:
        _KEPT[(token, data, start, stop)] = keep
    return ranges


def _shard_histograms(graph: Graph, token: str, data: DataRef, start: int, stop: int, ranges):
    shard = _calibrator(graph, token)
    kept = _KEPT.pop((token, data, start, stop), [])
    rest = feeds_of(graph, data)[start + len(kept):stop]
    return merge_counts([shard.histograms(kept, ranges, simulated=True),
                         shard.histograms(rest, ranges)])


def cluster_calibrator(client, data: DataRef):
    """A ``calibrator`` for ``quantize_graph``: the statistics computed on ``client``
    from ``data`` (the feeds the quantizer cut locally only fix the sample count,
    which must agree).  Its ``retries`` attribute counts the task retries."""
    def calibrator(graph: Graph, feeds) -> CalibrationStats:
        stats, calibrator.retries = calibrate_distributed(client, graph, data)
        if stats.samples != len(feeds):
            raise UsageError(f"the workers read {stats.samples} calibration samples from "
                             f"{data.location}, this process {len(feeds)}: do they see the "
                             "same file?")
        return stats
    calibrator.retries = 0
    return calibrator
