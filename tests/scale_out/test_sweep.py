"""`n2d2c sweep`: a grid of quantization settings, one task per configuration; the
same table alone, on a cluster, and on a cluster that loses a worker mid-sweep."""

from __future__ import annotations

import csv
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

import n2d2c
from n2d2c.cli import main
from n2d2c.errors import UsageError
from n2d2c.distributed import DataRef
from n2d2c.distributed.sweep import best_row, config_flags, parse_grid, pareto_front, run_sweep
from n2d2c.quantization import QuantizationOptions, QuantizationWarning, quantize_graph
from n2d2c.runtime import Simulator

from .conftest import FIXTURES, DaskCluster, require_distributed

MODEL = FIXTURES / "mnv3_digits.onnx"
GRID = "nbbits=8,16;act-clipping-mode=None,MSE,Quantile"


def test_grid_is_the_cartesian_product_in_order_with_typed_values():
    configs = parse_grid("nbbits=8,16; act-clipping-mode=MSE,KL-Divergence ;wt-per-channel=0")
    assert configs == [
        {"nbbits": 8, "act_clipping_mode": "MSE", "wt_per_channel": False},
        {"nbbits": 8, "act_clipping_mode": "KL-Divergence", "wt_per_channel": False},
        {"nbbits": 16, "act_clipping_mode": "MSE", "wt_per_channel": False},
        {"nbbits": 16, "act_clipping_mode": "KL-Divergence", "wt_per_channel": False}]
    assert config_flags(configs[1]) == ["--nbbits", "8", "--act-clipping-mode",
                                        "KL-Divergence", "--wt-per-layer"]


@pytest.mark.parametrize("grid, message", [
    ("", "empty"), ("nbbits", "expected OPTION=V1,V2"), ("calib-data=a.npz", "one of"),
    ("nbbits=8;nbbits=4", "twice"), ("nbbits=eight", "takes int"),
    ("nbbits=8,40", "2..16"), ("act-clipping-mode=Median", "clipping mode")])
def test_bad_grids_are_refused_before_any_work(grid, message):
    with pytest.raises(UsageError, match=message):
        parse_grid(grid)


def _rows_key(rows):
    return [(r.config, r.accuracy, r.agreement, r.sqnr_db, r.arena_bytes, r.weight_bytes)
            for r in rows]


@pytest.fixture(scope="module")
def refs(digits_calibration, digits_evaluation):
    names = ["input"]
    return DataRef.of(digits_calibration, names), DataRef.of(digits_evaluation, names)


@pytest.fixture(scope="module")
def alone(refs):
    calibration, evaluation = refs
    return run_sweep(n2d2c.load(MODEL), parse_grid(GRID), calibration=calibration,
                     evaluation=evaluation)


def test_sweep_rows_measure_what_they_claim(alone, digits_calibration, digits_evaluation):
    rows = alone.rows
    assert len(rows) == 6 and alone.retries == 0
    # One configuration measured independently: quantize, simulate, compare with labels.
    graph = n2d2c.load(MODEL)
    test = np.load(digits_evaluation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        qgraph, _ = quantize_graph(graph, {"x": np.load(digits_calibration)},
                                   QuantizationOptions(nbbits=8, act_clipping_mode="None"))
    sim = Simulator(qgraph)
    scores = np.concatenate([next(iter(sim.run({"input": x[None]}).values()))
                             for x in test["x"]])
    assert rows[0].config == {"nbbits": 8, "act_clipping_mode": "None"}
    assert rows[0].accuracy == pytest.approx(np.mean(scores.argmax(1) == test["y"]))
    # 16-bit activations need a bigger arena and agree better with float than 8-bit
    # (by less than the 48 dB of 8 more bits: test digits beyond the calibrated range
    # saturate in both).
    assert rows[3].arena_bytes > rows[0].arena_bytes
    assert rows[3].sqnr_db > rows[0].sqnr_db + 6
    front = pareto_front(rows)
    assert best_row(rows) in front and len(front) < len(rows)


def test_sweep_command_writes_table_csv_and_plot(dask_cluster, digits_calibration,
                                                 digits_evaluation, alone, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", str(MODEL), "--data", str(digits_evaluation), "--calib-data",
                 str(digits_calibration), "--grid", GRID, "-o", str(out),
                 "--scheduler", dask_cluster["address"]]) == 0
    printed = capsys.readouterr().out
    assert "sweep of 6 configurations on 48 samples (2 Dask worker(s), 0 task retries)" in printed
    assert "best: n2d2c quantize" in printed and "--act-clipping-mode Quantile" in printed
    with open(out / "sweep.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [float(r["accuracy"]) for r in table] == pytest.approx(
        [r.accuracy for r in alone.rows], abs=1e-6)
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_worker_killed_mid_sweep_changes_nothing(refs, alone, tmp_path):
    """The worker running a configuration is SIGKILLed; Dask reruns its task on the
    other worker (the nanny restarts the dead one) and the sweep reports the retry."""
    require_distributed()
    from distributed import Client
    calibration, evaluation = refs
    cluster = DaskCluster(tmp_path)
    try:
        with Client(cluster.address) as client:
            outcome = {}

            def sweep():
                outcome["result"] = run_sweep(n2d2c.load(MODEL), parse_grid(GRID),
                                              calibration=calibration, evaluation=evaluation,
                                              client=client)
            thread = threading.Thread(target=sweep)
            thread.start()
            killed = _kill_a_worker_running(client, "evaluate_config", timeout=120)
            thread.join(timeout=300)
            assert not thread.is_alive()
    finally:
        cluster.stop()
    assert killed
    result = outcome["result"]
    assert result.retries >= 1
    assert _rows_key(result.rows) == _rows_key(alone.rows)


def _kill_a_worker_running(client, prefix: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for address, keys in client.processing().items():
            if any(str(k).startswith(prefix) for k in keys):
                pid = client.run(os.getpid, workers=[address])[address]
                os.kill(pid, signal.SIGKILL)
                return True
        time.sleep(0.05)
    return False
