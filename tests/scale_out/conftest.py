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


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """The scheduler's address, with two single-threaded workers connected."""
    require_distributed()
    from distributed import Client
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    python_m = [sys.executable, "-m"]
    procs = [subprocess.Popen(python_m + ["distributed.cli.dask_scheduler", "--host",
                                          "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT,
                              env=env)]
    for i in range(2):
        procs.append(subprocess.Popen(python_m + ["distributed.cli.dask_worker", address,
                                                  "--nthreads", "1", "--no-dashboard",
                                                  "--name", f"w{i}"],
                                      stdout=open(logs / f"worker{i}.log", "w"),
                                      stderr=subprocess.STDOUT, env=env))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield {"address": address, "procs": procs, "logs": logs}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def digits_calibration(tmp_path_factory) -> Path:
    """48 samples of the digits calibration set as an .npy the workers read."""
    path = tmp_path_factory.mktemp("data") / "calib.npy"
    np.save(path, np.load(FIXTURES / "digits_calib.npz")["x"][:48])
    return path
