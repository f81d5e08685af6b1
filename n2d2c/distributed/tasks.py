"""Submitting shard tasks: Dask's retries, a progress bar, and a count of the
retries that happened (task errors retried, and tasks rerun after their worker was
lost), read from the scheduler before the results are released."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

#: Times a failing task is retried (Dask's ``retries``); a task whose worker dies is
#: rescheduled by Dask itself, up to its ``allowed-failures`` setting.
RETRIES = 3


@dataclass
class TaskOutcome:
    results: list
    retries: int = 0
    # Address of the worker holding each result (where its task ran).
    where: list = field(default_factory=list)


def spans(count: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous, nearly equal [start, stop) ranges covering ``count``."""
    shards = max(1, min(count, shards))
    edges = [count * i // shards for i in range(shards + 1)]
    return [(edges[i], edges[i + 1]) for i in range(shards)]


def share(client, obj):
    """``obj`` (the graph, statistics) sent to every worker once; tasks take the future."""
    return client.scatter(obj, broadcast=True, hash=False)


def run_tasks(client, function: Callable, argument_lists: Sequence[tuple], *,
              description: str, shared: Sequence = (),
              prefer: Sequence[str | None] = ()) -> TaskOutcome:
    """``function(*shared, *arguments)`` for every tuple of ``argument_lists`` on the
    cluster, results in submission order.  ``shared``: futures from ``share``.
    ``prefer[i]``: a worker that task i should run on when it can (it holds data of an
    earlier stage), any other one otherwise."""
    from distributed import as_completed
    futures = []
    for i, args in enumerate(argument_lists):
        worker = prefer[i] if i < len(prefer) else None
        placement = {"workers": [worker], "allow_other_workers": True} if worker else {}
        futures.append(client.submit(function, *shared, *args, retries=RETRIES, pure=False,
                                     **placement))
    with progress(len(futures), description) as bar:
        for _ in as_completed(futures):
            bar.update(1)
    results = client.gather(futures)
    retries = client.run_on_scheduler(_retries_of, [f.key for f in futures])
    holders = client.who_has(futures)
    where = [next(iter(holders.get(f.key, ())), None) for f in futures]
    del futures
    return TaskOutcome(results, int(retries), where)


def _retries_of(keys, dask_scheduler=None) -> int:
    """Scheduler side: task errors retried plus reruns after lost workers."""
    total = 0
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is not None:
            total += (RETRIES - (ts.retries or 0)) + (ts.suspicious or 0)
    return total


def progress(total: int, description: str):
    """A tqdm bar on stderr when it is a terminal (tqdm disables itself otherwise)."""
    from tqdm import tqdm
    return tqdm(total=total, desc=description, unit="task", disable=None, leave=False)
