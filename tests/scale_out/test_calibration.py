"""Calibration as map-reduce: shards merged exactly, on a real Dask cluster, give
the statistics (and so the quantized IR) of a single-process run, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import n2d2c
from n2d2c.cli import main
from n2d2c.errors import UsageError
from n2d2c.quantization import calibrate, prepare_graph
from n2d2c.quantization.calibration import ShardCalibrator, merge_counts, merge_ranges
from n2d2c.quantization.data import make_feeds

from .conftest import FIXTURES

MODEL = FIXTURES / "mnv3_digits.onnx"


def _assert_same_stats(a, b):
    assert a.values.keys() == b.values.keys() and a.samples == b.samples
    assert a.fingerprint == b.fingerprint
    for name in a.values:
        u, v = a[name], b[name]
        assert (u.min, u.max) == (v.min, v.max), name
        assert (u.hist.lo, u.hist.hi) == (v.hist.lo, v.hist.hi), name
        assert np.array_equal(u.hist.counts, v.hist.counts), name


@pytest.fixture(scope="module")
def graph_and_feeds(digits_calibration):
    graph = prepare_graph(n2d2c.load(MODEL))
    return graph, make_feeds(graph, np.load(digits_calibration))


def test_any_split_into_shards_merges_to_the_single_sweep(graph_and_feeds):
    graph, feeds = graph_and_feeds
    whole = calibrate(graph, feeds)
    shard = ShardCalibrator(graph)
    rng = np.random.default_rng(0)
    cuts = sorted(rng.choice(np.arange(1, len(feeds)), 4, replace=False))
    pieces = [feeds[a:b] for a, b in zip([0, *cuts], [*cuts, len(feeds)])]
    # Merge in a shuffled order: min/max and integer sums do not care.
    ranges = merge_ranges(shard.ranges(p) for p in reversed(pieces))
    counts = merge_counts(shard.histograms(p, ranges) for p in pieces)
    _assert_same_stats(whole, shard.stats(ranges, counts, len(feeds)))
    # The histograms really differ between shards (the merge is not trivially one shard).
    parts = [shard.histograms(p, ranges) for p in pieces[:2]]
    assert any(not np.array_equal(parts[0][n], parts[1][n]) for n in parts[0])


def test_calibration_on_a_dask_scheduler_with_two_workers(dask_cluster, graph_and_feeds,
                                                          digits_calibration):
    from distributed import Client

    from n2d2c.distributed import DataRef, calibrate_distributed
    graph, feeds = graph_and_feeds
    with Client(dask_cluster["address"]) as client:
        stats, retries = calibrate_distributed(
            client, graph, DataRef.of(digits_calibration, [v.name for v in graph.inputs]))
        workers_used = client.run(lambda: 1)
    assert len(workers_used) == 2 and retries == 0
    _assert_same_stats(calibrate(graph, feeds), stats)


def _quantize(tmp: Path, name: str, data: Path, *extra: str) -> tuple[bytes, bytes]:
    out = tmp / f"{name}.ir"
    assert main(["quantize", str(MODEL), "--calib-data", str(data), "-o", str(out),
                 *extra]) == 0
    return out.read_bytes(), out.with_suffix(".npz").read_bytes()


def test_quantize_gives_the_same_ir_on_a_cluster_a_local_cluster_and_alone(
        dask_cluster, digits_calibration, tmp_path, capsys):
    alone = _quantize(tmp_path, "alone", digits_calibration)
    remote = _quantize(tmp_path, "remote", digits_calibration,
                       "--scheduler", dask_cluster["address"])
    assert "calibrated on 2 Dask worker(s), 0 task retries" in capsys.readouterr().err
    local = _quantize(tmp_path, "local", digits_calibration, "--workers", "2")
    assert remote == alone and local == alone


def test_scheduler_from_the_environment(dask_cluster, digits_calibration, tmp_path,
                                        monkeypatch, capsys):
    monkeypatch.setenv("N2D2C_SCHEDULER", dask_cluster["address"])
    _quantize(tmp_path, "env", digits_calibration, "--calib", "8")
    assert "calibrated on 2 Dask worker(s)" in capsys.readouterr().err


def test_cluster_option_errors(digits_calibration, capsys):
    from n2d2c.distributed import cluster
    with pytest.raises(UsageError, match="not both"):
        with cluster("tcp://127.0.0.1:1", workers=2):
            pass
    with pytest.raises(UsageError, match="positive"):
        with cluster(workers=-1):
            pass
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        with cluster("tcp://127.0.0.1:1", connect_timeout="1s"):
            pass


def test_workers_read_data_from_an_fsspec_url(dask_cluster, graph_and_feeds,
                                              digits_calibration):
    from distributed import Client

    from n2d2c.distributed import DataRef, calibrate_distributed
    graph, feeds = graph_and_feeds
    url = digits_calibration.resolve().as_uri()  # file:///...: any fsspec protocol works
    with Client(dask_cluster["address"]) as client:
        stats, _ = calibrate_distributed(client, graph, DataRef.of(url, ["input"]))
    _assert_same_stats(calibrate(graph, feeds), stats)


def test_an_unknown_data_url_is_a_clear_error():
    from n2d2c.distributed.data import DataRef
    from n2d2c.errors import InputError
    with pytest.raises(InputError, match="cannot open data URL 'nosuch://bucket/x.npz'"):
        DataRef.of("nosuch://bucket/x.npz", ["input"]).arrays()


def test_keeping_only_some_samples_values_changes_no_statistic(graph_and_feeds):
    """The histogram sweep reuses the values of the samples that fit in the cache and
    simulates the others again: any cache size gives the same statistics."""
    graph, feeds = graph_and_feeds
    per_sample = ShardCalibrator(graph).bytes_per_sample()
    everything = calibrate(graph, feeds)
    for cache in (0, 7 * per_sample + 1):
        _assert_same_stats(everything, calibrate(graph, feeds, cache_bytes=cache))
