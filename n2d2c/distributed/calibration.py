"""Calibration as map-reduce over Dask workers: each shard's value ranges, merged
exactly; then each shard's histograms over the merged ranges, summed.  The merged
statistics equal a single-process ``calibrate`` on the same samples bit for bit
(``ShardCalibrator`` in quantization/calibration.py)."""

from __future__ import annotations

from ..errors import UsageError
from ..ir import Graph
from ..quantization.calibration import (CalibrationStats, ShardCalibrator, merge_counts,
                                        merge_ranges)
from .data import DataRef, feeds_of
from .tasks import run_tasks, spans

#: Shards per worker: enough that a slow or lost worker delays the end little.
SHARDS_PER_WORKER = 4


def calibrate_distributed(client, graph: Graph, data: DataRef, *,
                          shards: int | None = None) -> tuple[CalibrationStats, int]:
    """Statistics of every float activation of ``graph`` (the quantizer's prepared
    float graph) over ``data``, computed on ``client``'s workers; returns the stats
    and the number of task retries that happened."""
    count = run_tasks(client, _feed_count, [(data,)], description="calibration data",
                      shared=[graph])
    total = count.results[0]
    if not total:
        raise UsageError("calibration needs at least one sample")
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    plan = spans(total, shards or workers * SHARDS_PER_WORKER)
    ranges = run_tasks(client, _shard_ranges, [(data, a, b) for a, b in plan],
                       description="calibration ranges", shared=[graph])
    merged = merge_ranges(ranges.results)
    counts = run_tasks(client, _shard_histograms, [(data, a, b, merged) for a, b in plan],
                       description="calibration histograms", shared=[graph])
    stats = ShardCalibrator(graph).stats(merged, merge_counts(counts.results), total)
    return stats, count.retries + ranges.retries + counts.retries


# -- worker side -----------------------------------------------------------------------
def _feed_count(graph: Graph, data: DataRef) -> int:
    return len(feeds_of(graph, data))


def _shard_ranges(graph: Graph, data: DataRef, start: int, stop: int):
    return _calibrator(graph).ranges(feeds_of(graph, data)[start:stop])


def _shard_histograms(graph: Graph, data: DataRef, start: int, stop: int, ranges):
    return _calibrator(graph).histograms(feeds_of(graph, data)[start:stop], ranges)


_CALIBRATORS: dict[int, ShardCalibrator] = {}


def _calibrator(graph: Graph) -> ShardCalibrator:
    """One calibrator (and its compiled simulator) per graph per worker process."""
    key = id(graph)
    if key not in _CALIBRATORS:
        _CALIBRATORS.clear()
        _CALIBRATORS[key] = ShardCalibrator(graph)
    return _CALIBRATORS[key]


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
