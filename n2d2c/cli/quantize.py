"""`n2d2c quantize` and the quantization flags of `run`, `compile` and `eval`
(the flags themselves: parser.add_quantization_args)."""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path

from ..errors import UsageError
from .common import data_set, load_model, output_ir, run_pipeline

FLAG_OPTIONS = ("calib", "calib_reload", "nbbits", "wt_nbbits", "act_clipping_mode",
                "act_quantile_value", "wt_clipping_mode", "act_rescaling_mode",
                "act_rescale_per_output", "wt_per_channel", "no_unsigned", "keep_float",
                "nbbits_layer")


def options_from_args(args):
    from ..quantization import QuantizationOptions
    values = {name: getattr(args, name) for name in FLAG_OPTIONS}
    if values["nbbits"] is None:
        values["nbbits"] = 8
    return QuantizationOptions(**values)


def wants_quantization(args) -> bool:
    if getattr(args, "calib_data", None):
        return True
    if getattr(args, "nbbits", None) is not None:
        raise UsageError("--nbbits needs --calib-data to calibrate the quantization")
    return False


def quantize_from_args(args, graph, *, echo_report: bool = False):
    """Quantize ``graph`` as the flags say; returns (graph, report)."""
    from ..distributed import DataRef, cluster, cluster_calibrator, worker_count
    from ..quantization import QuantizationWarning, quantize_graph
    options = options_from_args(args)
    held = getattr(args, "_client", None)  # a cluster the command already holds (eval)
    clients = contextlib.nullcontext(held) if held is not None else \
        cluster(getattr(args, "scheduler", None), getattr(args, "workers", 0))
    with warnings.catch_warnings(record=True) as caught, clients as client:
        warnings.simplefilter("always", QuantizationWarning)
        calibrator = None if client is None else cluster_calibrator(
            client, DataRef.of(args.calib_data, [v.name for v in graph.inputs], options.calib))
        qgraph, report = quantize_graph(graph, calibration_data(args, graph), options,
                                        calibrator=calibrator)
        if client is not None:
            workers = worker_count(client)
            print(f"n2d2c: calibrated on {workers} Dask worker(s), {calibrator.retries} task "
                  "retries", file=sys.stderr)
    for w in caught:
        if issubclass(w.category, QuantizationWarning):
            print(f"n2d2c: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if echo_report:
        sys.stderr.write(report.table())
    return qgraph, report


def calibration_data(args, graph):
    """The --calib-data arrays for ``graph``'s inputs (read once: see common.data_set)."""
    from ..quantization.data import select_inputs
    arrays = data_set(args, "calib_data")
    return select_inputs(arrays, [v.name for v in graph.inputs], args.calib_data)


def cmd_quantize(args) -> int:
    graph = run_pipeline(args, load_model(args))
    qgraph, report = quantize_from_args(args, graph)
    csv_path = args.csv
    if args.report:
        sys.stdout.write(report.table())
        if csv_path is None and args.output:
            csv_path = str(Path(args.output).with_suffix("")) + ".report.csv"
    if csv_path:
        report.write_csv(csv_path)
        if args.report:
            print(f"wrote report to {csv_path}")
    if args.output:
        output_ir(qgraph, args.output, inline_constants=args.inline_constants)
        print(f"wrote quantized IR to {args.output}")
    elif not args.report:
        output_ir(qgraph, None, inline_constants=args.inline_constants)
    return 0
