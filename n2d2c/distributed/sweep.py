"""Quantization sweeps: one task per configuration of a grid of quantization options.

The float graph is calibrated once (on the cluster when there is one: calibration
does not depend on the options, only the thresholds derived from its histograms
do); each task then quantizes with its configuration, runs the evaluation data
through the float and the integer simulators and plans the arena of the C++
backend.  Rows come back in grid order whatever the worker that ran them, so a
sweep with a lost worker gives the same table as one without.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import UsageError
from ..ir import Graph
from ..ir.ops import Constant
from ..quantization import QuantizationOptions, QuantizationWarning, quantize_graph
from ..quantization.calibration import CalibrationStats
from ..quantization.report import sqnr_db
from ..util.flags import boolean_word
from .data import DataRef, feeds_of

_FIELDS = {f.name: f for f in dataclasses.fields(QuantizationOptions)}
#: Options a grid may vary (the others name files or layers: not sweep axes).
SWEEPABLE = ("nbbits", "wt_nbbits", "act_clipping_mode", "act_quantile_value",
             "wt_clipping_mode", "act_rescaling_mode", "act_rescale_per_output",
             "wt_per_channel", "no_unsigned")


def parse_grid(text: str) -> list[dict[str, object]]:
    """``"nbbits=8,16;act-clipping-mode=MSE,Quantile"`` as the configurations of the
    grid's cartesian product, in order (the first axis varies slowest).  Values take
    the option's type; every configuration is checked now, not on a worker."""
    axes: list[tuple[str, list[object]]] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, values = part.partition("=")
        name = key.strip().replace("-", "_")
        if not sep or name not in SWEEPABLE:
            raise UsageError(f"bad sweep axis {part!r}; expected OPTION=V1,V2,... with OPTION "
                             f"one of {', '.join(n.replace('_', '-') for n in SWEEPABLE)}")
        if any(name == seen for seen, _ in axes):
            raise UsageError(f"sweep axis '{key.strip()}' is given twice")
        choices = [_typed(name, v.strip()) for v in values.split(",") if v.strip()]
        if not choices:
            raise UsageError(f"sweep axis '{key.strip()}' has no values")
        axes.append((name, choices))
    if not axes:
        raise UsageError("the sweep grid is empty; e.g. --grid 'nbbits=8,16'")
    configs = [dict(zip([n for n, _ in axes], combo))
               for combo in itertools.product(*(c for _, c in axes))]
    for config in configs:
        QuantizationOptions.from_any(config)  # a bad value fails before any work
    return configs


def _typed(name: str, text: str) -> object:
    default = _FIELDS[name].default
    if isinstance(default, bool):
        flag = boolean_word(text)
        if flag is None:
            raise UsageError(f"sweep axis '{name}' takes true/false, got {text!r}")
        return flag
    try:
        return type(default)(text)
    except ValueError:
        raise UsageError(f"sweep axis '{name}' takes {type(default).__name__} values, "
                         f"got {text!r}") from None


def config_flags(config: dict[str, object]) -> list[str]:
    """The ``n2d2c quantize`` flags of a configuration."""
    flags = []
    for name, value in config.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            if name == "wt_per_channel":
                flags.append("--wt-per-channel" if value else "--wt-per-layer")
            elif value:
                flags.append(flag)
        else:
            flags += [flag, str(value)]
    return flags


@dataclass
class SweepRow:
    config: dict[str, object]
    samples: int
    accuracy: float | None      # top-1 against the labels (None: the data has none)
    agreement: float            # top-1 agreement of the integer graph with float
    sqnr_db: float              # of the graph outputs, integer vs float
    arena_bytes: int            # the C++ backend's planned activation arena
    weight_bytes: int           # integer constants (flash on an MCU)

    @property
    def size_bytes(self) -> int:
        return self.arena_bytes + self.weight_bytes

    @property
    def quality(self) -> float:
        return self.accuracy if self.accuracy is not None else self.agreement


def evaluate_config(graph: Graph, stats: CalibrationStats, data: DataRef,
                    config: dict[str, object]) -> SweepRow:
    """Quantize ``graph`` with ``config`` (statistics already calibrated) and measure
    it on ``data``.  Runs on a worker, or in this process without a cluster."""
    from ..backends.c.memory import plan_graph
    from ..quantization.evaluation import run_outputs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        qgraph, _ = quantize_graph(graph, stats, QuantizationOptions.from_any(config))
    arrays = data.arrays()
    inputs = {k: v if data.count < 0 else v[:data.count] for k, v in arrays.items() if k != "y"}
    want_all = np.asarray(run_outputs(graph, inputs, outputs=[graph.outputs[0].name])
                          [graph.outputs[0].name], np.float64)
    got_all = np.asarray(run_outputs(qgraph, inputs, outputs=[qgraph.outputs[0].name])
                         [qgraph.outputs[0].name], np.float64)
    samples = want_all.shape[0]
    want_class = want_all.reshape(samples, -1).argmax(axis=1)
    got_class = got_all.reshape(samples, -1).argmax(axis=1)
    labels = arrays.get("y")
    accuracy = None
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)[:samples].astype(np.int64)
        accuracy = float(np.mean(got_class == labels))
    signal = float(np.sum(want_all ** 2))
    noise = float(np.sum((want_all - got_all) ** 2))
    weights = sum(op.value.nbytes for op in qgraph.ops_of(Constant))
    return SweepRow(dict(config), samples, accuracy, float(np.mean(got_class == want_class)),
                    sqnr_db(signal, noise), plan_graph(qgraph).plan.arena_size, int(weights))


def _rank(row: SweepRow) -> tuple[float, float, float]:
    """Quality, ties broken by agreement with float, then by SQNR."""
    return (row.quality, row.agreement, row.sqnr_db)


def pareto_front(rows: Sequence[SweepRow]) -> list[int]:
    """Indices of the rows that no other row matches on size and beats on quality
    (``_rank``), or matches on quality and beats on size."""
    def beats(o: SweepRow, r: SweepRow) -> bool:
        return (_rank(o) >= _rank(r) and o.size_bytes <= r.size_bytes
                and (_rank(o) > _rank(r) or o.size_bytes < r.size_bytes))
    return [i for i, r in enumerate(rows) if not any(beats(o, r) for o in rows)]


def best_row(rows: Sequence[SweepRow]) -> int:
    """The best quality (``_rank``); ties go to the smaller program, then the earlier row."""
    return min(range(len(rows)), key=lambda i: (tuple(-x for x in _rank(rows[i])),
                                                rows[i].size_bytes, i))


@dataclass
class SweepOutcome:
    rows: list[SweepRow]
    retries: int            # Dask task retries (errors retried, reruns after lost workers)
    workers: int            # 0: this process


def run_sweep(graph: Graph, configs: Sequence[dict[str, object]], *, calibration: DataRef,
              evaluation: DataRef, client=None) -> SweepOutcome:
    """Calibrate ``graph`` once on ``calibration``, then evaluate every configuration
    on ``evaluation``: one task each on ``client``'s workers, or here in turn."""
    from ..quantization import calibrate, prepare_graph
    from .calibration import calibrate_distributed
    from .cluster import worker_count
    from .tasks import progress, run_tasks
    prepared = prepare_graph(graph)
    if client is None:
        stats = calibrate(prepared, feeds_of(prepared, calibration))
        rows = []
        with progress(len(configs), "sweep") as bar:
            for config in configs:
                rows.append(evaluate_config(graph, stats, evaluation, config))
                bar.update(1)
        return SweepOutcome(rows, 0, 0)
    stats, retries = calibrate_distributed(client, prepared, calibration)
    outcome = run_tasks(client, evaluate_config, [(evaluation, c) for c in configs],
                        description="sweep", shared=[graph, stats])
    workers = worker_count(client)
    return SweepOutcome(outcome.results, retries + outcome.retries, workers)
