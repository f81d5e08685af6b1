"""Evaluation sharded over Dask workers: each worker reads the labelled data set
itself, runs its contiguous shard of samples through the simulator and returns the
outputs the target scores; the client joins them in sample order and scores them
once.  Per-sample outputs do not depend on which worker or shard computed them, so
every metric (success rate, top-N, confusion matrix, per-class scores, ROIs, mean
loss) equals the single-process evaluation exactly, with no merge rule per metric.
Only these outputs travel, never the inputs."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from ..ir import Graph
from .cluster import worker_count
from .tasks import run_tasks, share, spans

SHARDS_PER_WORKER = 4


@dataclass(frozen=True)
class LabelledRef:
    """A labelled data set as ``n2d2c eval`` reads it (``.npz`` or N2D2 DIR database)
    at a path every worker sees, and the first ``limit`` samples of it (0: all)."""

    location: str
    input_names: tuple[str, ...]
    limit: int = 0

    @classmethod
    def of(cls, location, input_names, limit: int = 0) -> "LabelledRef":
        return cls(os.path.abspath(os.fspath(location)), tuple(input_names), int(limit or 0))

    def samples(self) -> dict[str, np.ndarray]:
        return _samples(self)


@functools.lru_cache(maxsize=2)
def _samples(ref: LabelledRef) -> dict[str, np.ndarray]:
    """The samples ``n2d2c eval`` scores, read once per worker process."""
    from ..quantization.eval_data import read_labelled, samples_and_labels
    return samples_and_labels(read_labelled(ref.location), ref.input_names, ref.location,
                              ref.limit)[0]


def outputs_distributed(client, graph: Graph, data: LabelledRef, names: list[str],
                        total: int, precision: str = "fast") -> tuple[dict[str, np.ndarray], int]:
    """{output name: [N, ...]} of ``total`` samples of ``data``, as
    ``quantization.evaluation.run_outputs`` gives them, computed on ``client``'s
    workers; and the number of task retries."""
    batch = max((v.shape[0] if v.type.rank else 1) for v in graph.inputs) if graph.inputs else 1
    workers = max(1, worker_count(client))
    # Shards of whole batches, so that padding happens only at the data set's end.
    batches = -(-total // batch)
    plan = [(a * batch, min(total, b * batch))
            for a, b in spans(batches, workers * SHARDS_PER_WORKER)]
    outcome = run_tasks(client, _shard_outputs, [(data, names, a, b, precision) for a, b in plan],
                        description="evaluation", shared=[share(client, graph)])
    joined = {n: np.concatenate([part[n] for part in outcome.results]) for n in names}
    return joined, outcome.retries


def _shard_outputs(graph: Graph, data: LabelledRef, names, start: int, stop: int,
                   precision: str):
    from ..quantization.evaluation import run_outputs
    samples = {k: v[start:stop] for k, v in data.samples().items()}
    return run_outputs(graph, samples, outputs=list(names), precision=precision)
