"""Which Dask cluster runs the work: the user's, a local one, or none."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from ..errors import UsageError

#: Environment variable naming the scheduler when ``--scheduler`` is not given.
SCHEDULER_ENV = "N2D2C_SCHEDULER"


def wants_cluster(scheduler: str | None = None, workers: int = 0) -> bool:
    return bool(workers) or bool(scheduler or os.environ.get(SCHEDULER_ENV))


@contextlib.contextmanager
def cluster(scheduler: str | None = None, workers: int = 0, *,
            connect_timeout: str = "20s") -> Iterator[object | None]:
    """A ``distributed.Client`` for the duration of the block, or None when neither a
    scheduler nor a worker count is given.  ``workers`` starts a ``LocalCluster`` of
    that many single-threaded worker processes on this machine (one simulation per
    core: the simulator's kernels are compiled, so processes, not threads, scale)."""
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if workers < 0:
        raise UsageError(f"--workers takes a positive count, got {workers}")
    if scheduler and workers:
        raise UsageError("give either --scheduler (an existing cluster) or --workers (a local "
                         "one), not both")
    if not scheduler and not workers:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--scheduler/--workers need Dask's distributed scheduler: "
                         "pip install 'n2d2c[distributed]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local, Client(local) as client:
        yield client


def worker_count(client) -> int:
    """How many workers ``client``'s scheduler has now."""
    return len(client.scheduler_info().get("workers", {}))
