"""Post-training quantization with N2D2's semantics: float graph -> integer IR.

    from n2d2c.quantization import quantize_graph
    qgraph, report = quantize_graph(graph, calib_x, {"nbbits": 8,
                                                      "act-clipping-mode": "MSE",
                                                      "act-rescaling-mode": "Single-shift"})
    print(report)                       # per-layer table: range, scale, rescaling, SQNR
    Simulator(qgraph).run({"input": x}) # bit-exact integer simulation

``calibration`` is an array [N, ...] of samples, a mapping of input name to such
arrays, a path (``.npz``/``.npy``/image folder, see ``data.py``), a list of feed
dicts, or ``CalibrationStats`` from ``calibrate``.  The integer IR and its exact
arithmetic are specified in ``n2d2c/ir/ops/quant.py``; the graph rewrite in
``quantizer.py`` (units, planning, rewrite); clipping in ``histogram.py``; rescaling in ``rescaling.py``.
The same is available as the pass ``quantize{...}`` and ``n2d2c quantize``.
"""

from __future__ import annotations

import os

from ..ir import Graph
from .calibration import (CalibrationStats, ValueRunner, ValueStats, calibrate,
                          calibrate_or_reload, graph_fingerprint, single_threaded)
from .data import load_data, make_feeds, read_image
from .evaluate import Evaluation, evaluate_classifier, predict
from .histogram import Histogram, clipping_threshold
from .options import QuantizationOptions
from .quantizer import QuantizationWarning, Quantizer
from .report import LayerReport, QuantizationReport, measure_sqnr, sqnr_db
from .scales import ValueScale, value_scales

__all__ = ["CalibrationStats", "Evaluation", "Histogram", "LayerReport", "QuantizationOptions",
           "QuantizationReport", "QuantizationWarning", "ValueRunner", "ValueScale", "ValueStats",
           "calibrate",
           "calibrate_data", "calibrate_or_reload", "clipping_threshold", "copy_graph",
           "evaluate_classifier", "graph_fingerprint", "load_data", "make_feeds", "measure_sqnr",
           "predict", "prepare_graph", "quantize_graph", "read_image", "single_threaded",
           "sqnr_db", "value_scales"]


def copy_graph(graph: Graph) -> Graph:
    """An independent copy (constants shared by value): ``Graph.copy``."""
    return graph.copy()


def prepare_graph(graph: Graph) -> Graph:
    """The float graph the quantizer works on: ``graph`` itself, or a copy with its
    decomposed activations recognised (``recognize-activations``: one op each, which
    keeps the name of the subgraph's result, so calibration keys still match) and its
    BatchNorms folded (``fuse-bn``), when it has any."""
    from ..ir.ops import BatchNorm
    from ..passes import Pipeline
    from ..passes.recognize_activations import recognizable
    passes = [name for name, needed in (("recognize-activations", recognizable(graph)),
                                        ("fuse-bn", bool(graph.ops_of(BatchNorm)))) if needed]
    if not passes:
        return graph
    copy = copy_graph(graph)
    Pipeline.parse(",".join(passes)).run(copy)
    return copy


def calibrate_data(graph: Graph, data, count: int = -1) -> CalibrationStats:
    """``calibrate`` from samples in any form ``make_feeds`` accepts (or a path)."""
    return calibrate(prepare_graph(graph), make_feeds(prepare_graph(graph), data, count))


def quantize_graph(graph: Graph, calibration, options=None, *, calibrator=None,
                   **overrides) -> tuple[Graph, QuantizationReport]:
    """Quantize ``graph`` (left unchanged) into a new integer-IR graph.

    ``options``: a QuantizationOptions, a dict (keys with ``-`` or ``_``) or None;
    keyword ``overrides`` win.  ``calibrator(float_graph, feeds)``, when given,
    computes the statistics instead of ``calibrate`` (e.g. on a Dask cluster).
    Returns the graph and its QuantizationReport.
    """
    opts = QuantizationOptions.from_any(options, **overrides)
    float_graph = prepare_graph(graph)
    feeds = []
    if isinstance(calibration, CalibrationStats):
        stats = calibration
    else:
        if isinstance(calibration, (str, os.PathLike)):
            calibration = load_data(calibration, input_names=[v.name for v in graph.inputs])
        feeds = make_feeds(float_graph, calibration, opts.calib)
        stats = calibrate_or_reload(float_graph, feeds, opts.calib_reload or None,
                                    calibrator=calibrator)
    quantizer = Quantizer(float_graph, stats, opts)
    qgraph = quantizer.run()
    report = QuantizationReport(opts, quantizer.rows, quantizer.warnings,
                                quantizer.requantizations, quantizer.float_ops,
                                stats.samples)
    if feeds and opts.sqnr_samples:
        measure_sqnr(float_graph, qgraph, report, feeds[:opts.sqnr_samples])
    qgraph.metadata["quantization"] = {
        "nbbits": opts.nbbits, "wt_nbbits": opts.weight_bits,
        "act_clipping_mode": opts.act_clipping_mode, "wt_clipping_mode": opts.wt_clipping_mode,
        "act_rescaling_mode": opts.act_rescaling_mode,
        "per_channel_weights": opts.per_channel_weights, "no_unsigned": opts.no_unsigned}
    return qgraph, report
