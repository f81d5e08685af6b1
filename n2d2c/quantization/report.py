"""The per-layer quantization report: table, CSV, and SQNR of float vs integer."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..ir import Graph, Value
from .calibration import ValueRunner, single_threaded
from .options import QuantizationOptions


@dataclass
class LayerReport:
    """One row of the quantization report."""

    name: str
    op: str
    value: str
    clipping: str
    max_abs: float
    threshold: float
    scale: float
    dtype: str
    rescaling: str
    multiplier: str
    weight_scale: str = ""
    fallback: str = ""
    sqnr_db: float | None = None
    result: Value | None = field(default=None, repr=False)
    weighted: bool = False            # constant weights: --nbbits-layer applies
    input_sqnr_db: float | None = None  # worst SQNR among the layers it reads


@dataclass(frozen=True)
class WorstLayer:
    """The layer that loses the most: the largest SQNR drop from what it reads."""

    row: LayerReport
    drop_db: float

    def suggestion(self) -> str:
        name = self.row.name
        if self.row.weighted:
            return f"--nbbits-layer {name}=16 or --keep-float {name}"
        return f"--keep-float {name}"


COLUMNS = ("layer", "op", "clipping", "max_abs", "threshold", "scale", "dtype", "rescaling",
           "multiplier", "weight_scale", "sqnr_db", "fallback")


def sqnr_db(signal: float, noise: float) -> float:
    """10 log10(signal / noise); +inf for an exact result."""
    if noise <= 0:
        return math.inf
    if signal <= 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


@dataclass
class QuantizationReport:
    """What ``quantize_graph`` did, layer by layer."""

    options: QuantizationOptions
    layers: list[LayerReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requantizations: int = 0
    float_ops: list[str] = field(default_factory=list)
    calibration_samples: int = 0
    sqnr_samples: int = 0
    output_sqnr_db: dict[str, float] = field(default_factory=dict)

    @property
    def fallbacks(self) -> list[LayerReport]:
        return [row for row in self.layers if row.fallback]

    def layer(self, name: str) -> LayerReport:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def worst_layer(self) -> WorstLayer | None:
        """The measured layer with the largest SQNR drop (its SQNR below the worst of
        the layers it reads, or below the ideal 6.02 b + 1.76 dB of a full-scale b-bit
        quantization for layers reading the network inputs); the lowest SQNR breaks ties.
        None without SQNR measurements."""
        ideal = 6.02 * self.options.nbbits + 1.76
        measured = [r for r in self.layers if r.sqnr_db is not None and math.isfinite(r.sqnr_db)]
        if not measured:
            return None

        def drop(r: LayerReport) -> float:
            source = r.input_sqnr_db if r.input_sqnr_db is not None else ideal
            return min(source, ideal) - r.sqnr_db

        row = max(measured, key=lambda r: (drop(r), -r.sqnr_db))
        return WorstLayer(row, drop(row))

    def rows(self) -> list[dict[str, object]]:
        return [{"layer": r.name, "op": r.op, "clipping": r.clipping, "max_abs": r.max_abs,
                 "threshold": r.threshold, "scale": r.scale, "dtype": r.dtype,
                 "rescaling": r.rescaling, "multiplier": r.multiplier,
                 "weight_scale": r.weight_scale, "sqnr_db": r.sqnr_db, "fallback": r.fallback}
                for r in self.layers]

    def table(self) -> str:
        o = self.options
        head = (f"post-training quantization: {o.nbbits}-bit activations, {o.weight_bits}-bit "
                f"weights ({'per channel' if o.per_channel_weights else 'per layer'}), "
                f"act clipping {o.act_clipping_mode}, weight clipping {o.wt_clipping_mode}, "
                f"rescaling {o.act_rescaling_mode}, {self.calibration_samples} calibration "
                f"samples")
        cells = [["layer", "op", "clip", "max|x|", "range", "scale", "type", "rescaling",
                  "multiplier", "SQNR dB"]]
        for r in self.layers:
            mark = "*" if r.fallback else ""
            cells.append([r.name, r.op, r.clipping, f"{r.max_abs:.4g}", f"{r.threshold:.4g}",
                          f"{r.scale:.4g}", r.dtype, r.rescaling + mark, r.multiplier,
                          _db(r.sqnr_db)])
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        lines = [head]
        for k, row in enumerate(cells):
            lines.append("  ".join(c.ljust(w) if i < 3 or i in (6, 7, 8) else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        for name, value in self.output_sqnr_db.items():
            lines.append(f"output %{name}: SQNR {_db(value)} dB over {self.sqnr_samples} "
                         f"calibration samples")
        if self.requantizations:
            lines.append(f"{self.requantizations} rescale(s) align operand scales "
                         "(add/concat inputs)")
        if o.keep_float:
            lines.append("kept in float (--keep-float): " + ", ".join(o.keep_float))
        if self.float_ops:
            lines.append("left in float: " + ", ".join(self.float_ops))
        for r in self.fallbacks:
            lines.append(f"* {r.name}: {r.fallback}")
        worst = self.worst_layer()
        if worst is not None:
            r = worst.row
            lines.append(f"loses the most: {r.name} ({r.op}), SQNR {_db(r.sqnr_db)} dB, "
                         f"{worst.drop_db:.1f} dB below its input; for more precision there "
                         f"try {worst.suggestion()}")
        return "\n".join(lines) + "\n"

    __str__ = table

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buffer.getvalue()

    def write_csv(self, path: str | os.PathLike) -> None:
        from ..util.atomic import atomic_write_bytes
        atomic_write_bytes(path, self.csv().encode())


def _db(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.1f}"


def measure_sqnr(float_graph: Graph, quantized: Graph, report: QuantizationReport,
                 feeds: Sequence[Mapping[str, np.ndarray]]) -> None:
    """Fill each layer's SQNR (float activation vs dequantized integer one) and the
    outputs' SQNR, over ``feeds``."""
    if not feeds:
        return
    by_name = {v.name: v for v in float_graph.values()}
    rows = [r for r in report.layers if r.result is not None and r.value in by_name]
    float_values = [by_name[r.value] for r in rows] + list(float_graph.outputs)
    int_values = [r.result for r in rows] + list(quantized.outputs)
    float_runner = ValueRunner(float_graph, float_values)
    int_runner = ValueRunner(quantized, int_values)
    n = len(rows)
    signal = np.zeros(len(float_values))
    noise = np.zeros(len(float_values))
    with single_threaded():
        for feed in feeds:
            want = float_runner.run(feed)
            got = int_runner.run(feed)
            for i, (fv, iv) in enumerate(zip(float_values, int_values)):
                x = np.asarray(want[fv.name], np.float64)
                y = np.asarray(got[iv.name], np.float64)
                if i < n:
                    y = y * rows[i].scale
                signal[i] += float(np.sum(x * x))
                noise[i] += float(np.sum((x - y) ** 2))
    for i, row in enumerate(rows):
        row.sqnr_db = sqnr_db(signal[i], noise[i])
    _input_sqnr(float_graph, rows)
    report.output_sqnr_db = {v.name: sqnr_db(signal[n + k], noise[n + k])
                             for k, v in enumerate(float_graph.outputs)}
    report.sqnr_samples = len(feeds)


def _input_sqnr(float_graph: Graph, rows: list[LayerReport]) -> None:
    """Set each row's ``input_sqnr_db``: the lowest SQNR among the measured layers whose
    results reach its op through unmeasured ops (tables, pooling, resizes...); None when
    only network inputs and constants do."""
    by_result = {r.value: r for r in rows}
    ops = {op.name: op for op in float_graph.ops}
    memo: dict[int, float | None] = {}

    def reaching(v: Value) -> float | None:
        if id(v) in memo:
            return memo[id(v)]
        memo[id(v)] = None
        row = by_result.get(v.name)
        if row is not None:
            memo[id(v)] = row.sqnr_db
        elif v.producer is not None:
            memo[id(v)] = _lowest(reaching(x) for x in v.producer.inputs)
        return memo[id(v)]

    for r in rows:
        op = ops.get(r.name)
        if op is not None:
            r.input_sqnr_db = _lowest(reaching(x) for x in op.inputs)


def _lowest(values) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None
