"""`n2d2c eval --scheduler/--workers`: the simulator's runs sharded over Dask workers
give the single-process evaluation exactly (metrics.json and confusion.csv byte for
byte), float and quantized."""

from __future__ import annotations

import json

from n2d2c.cli import main

from .conftest import FIXTURES

MODEL = FIXTURES / "mnv3_digits.onnx"


def _eval(tmp_path, name, data, *extra):
    out = tmp_path / name
    assert main(["eval", str(MODEL), "--data", str(data), "-o", str(out), "--loss",
                 "cross-entropy", *extra]) == 0
    return (out / "metrics.json").read_bytes(), (out / "confusion.csv").read_bytes()


def test_sharded_evaluation_equals_the_single_process_one(dask_cluster, digits_evaluation,
                                                          digits_calibration, tmp_path, capsys):
    quantized = ["--calib-data", str(digits_calibration), "--compare"]
    alone = _eval(tmp_path, "alone", digits_evaluation, *quantized)
    remote = _eval(tmp_path, "remote", digits_evaluation, *quantized,
                   "--scheduler", dask_cluster["address"])
    err = capsys.readouterr().err
    assert "float outputs on 2 Dask worker(s), 0 task retries" in err
    assert "quantized outputs on 2 Dask worker(s)" in err
    assert "calibrated on 2 Dask worker(s)" in err
    assert remote == alone
    metrics = json.loads(alone[0])
    assert 0.9 < metrics["success_rate"] <= 1.0


def test_batched_sharded_evaluation(dask_cluster, digits_evaluation, tmp_path):
    # 48 samples in batches of 5: shards of whole batches, the last one padded.
    alone = _eval(tmp_path, "alone", digits_evaluation, "--limit", "47")
    remote = _eval(tmp_path, "remote", digits_evaluation, "--limit", "47", "--batch", "5",
                   "--scheduler", dask_cluster["address"])
    assert remote == alone


def test_a_cluster_runs_only_the_simulator(digits_evaluation, capsys):
    assert main(["eval", str(MODEL), "--data", str(digits_evaluation), "--backend", "cpp",
                 "--workers", "1"]) != 0
    assert "--scheduler/--workers shard the simulator's runs" in capsys.readouterr().err
