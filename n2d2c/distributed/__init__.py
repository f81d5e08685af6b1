"""Scale-out on Dask's distributed scheduler: calibration, evaluation and sweeps
split into shards that worker processes run, merged exactly on the client.

``cluster(scheduler=..., workers=...)`` gives a ``distributed.Client``: on the user's
cluster (``--scheduler ADDRESS`` or ``N2D2C_SCHEDULER``), on a ``LocalCluster`` of
``workers`` processes, or None (today's single process).  Workers read the data
themselves from a path or fsspec URL they can see (``DataRef``); only the graph
(once per worker) and small per-shard results travel through the scheduler.
Dask is imported only when a cluster is asked for.
"""

from __future__ import annotations

from .calibration import calibrate_distributed, cluster_calibrator
from .cluster import SCHEDULER_ENV, cluster, wants_cluster, worker_count
from .data import DataRef

__all__ = ["SCHEDULER_ENV", "DataRef", "calibrate_distributed", "cluster", "cluster_calibrator",
           "wants_cluster", "worker_count"]
