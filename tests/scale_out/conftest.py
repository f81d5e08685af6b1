"""A real Dask cluster for the tests: `dask scheduler` and two `dask worker`
processes on 127.0.0.1, started once per test module."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from support import in_ci

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_distributed():
    if importlib.util.find_spec("distributed") is None:
        message = "needs dask.distributed (pip install 'n2d2c[distributed]', done by .ci/run)"
        if in_ci():
            pytest.fail(f"{message}; CI=true, so this may not be skipped")
        pytest.skip(message)


class DaskCluster:
    """`dask scheduler` and ``workers`` `dask worker` processes (each with its nanny,
    which restarts a killed worker, as on a real cluster)."""

    def __init__(self, logs: Path, workers: int = 2):
        from distributed import Client
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        python_m = [sys.executable, "-m"]
        self.procs = [subprocess.Popen(
            python_m + ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                        str(port), "--no-dashboard"],
            stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT, env=env)]
        for i in range(workers):
            self.procs.append(subprocess.Popen(
                python_m + ["distributed.cli.dask_worker", self.address, "--nthreads", "1",
                            "--no-dashboard", "--name", f"w{i}"],
                stdout=open(logs / f"worker{i}.log", "w"), stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(self.address, timeout="5s") as client:
                    client.wait_for_workers(workers, timeout=60)
                return
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real cluster on 127.0.0.1 with two single-threaded workers, per module."""
    require_distributed()
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        yield {"address": cluster.address}
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def digits_calibration(tmp_path_factory) -> Path:
    """48 samples of the digits calibration set as an .npy the workers read."""
    path = tmp_path_factory.mktemp("data") / "calib.npy"
    np.save(path, np.load(FIXTURES / "digits_calib.npz")["x"][:48])
    return path


@pytest.fixture(scope="module")
def digits_evaluation(tmp_path_factory) -> Path:
    """48 labelled test digits as an .npz (x, y)."""
    path = tmp_path_factory.mktemp("data") / "eval.npz"
    test = np.load(FIXTURES / "digits_test.npz")
    np.savez(path, x=test["x"][:48], y=test["y"][:48])
    return path
