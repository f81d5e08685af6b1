"""Command-line side of quantization: `n2d2c quantize`, `n2d2c evaluate`, and the
quantization flags of `n2d2c run` (wired in n2d2c/cli.py)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..errors import InputError, UsageError

FLAG_OPTIONS = ("calib", "calib_reload", "nbbits", "wt_nbbits", "act_clipping_mode",
                "act_quantile_value", "wt_clipping_mode", "act_rescaling_mode",
                "act_rescale_per_output", "wt_per_channel", "no_unsigned")


def add_quantization_args(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    g = p.add_argument_group("post-training quantization (N2D2 semantics)")
    g.add_argument("--calib-data", required=required, metavar="PATH",
                   help="calibration samples: .npz (x), .npy, or a folder of .npy/.png/.pgm")
    g.add_argument("--calib", type=int, default=-1, metavar="N",
                   help="calibration samples to use (-1: all, the default)")
    g.add_argument("--calib-reload", default="", metavar="FILE",
                   help="statistics file: reused when it matches the model, else written")
    g.add_argument("--nbbits", type=int, default=None,
                   help="activation/weight bits (default 8; giving it to run/evaluate "
                        "quantizes)")
    g.add_argument("--wt-nbbits", type=int, default=0, help="weight bits (default: nbbits)")
    g.add_argument("--act-clipping-mode", default="MSE",
                   help="None | MSE | KL-Divergence | Quantile (default MSE)")
    g.add_argument("--act-quantile-value", type=float, default=0.9999,
                   help="fraction of values kept in Quantile mode (default 0.9999)")
    g.add_argument("--wt-clipping-mode", default="None", help="None | MSE | KL-Divergence")
    g.add_argument("--act-rescaling-mode", default="Single-shift",
                   help="Floating-point | Fixed-point16 | Fixed-point32 | Single-shift | "
                        "Double-shift (default Single-shift)")
    g.add_argument("--act-rescale-per-output", action="store_true",
                   help="rescale per output channel (per-channel weight scales)")
    g.add_argument("--wt-per-channel", action="store_true", help="one weight scale per channel")
    g.add_argument("--no-unsigned", action="store_true",
                   help="signed activations even after ReLU")


def options_from_args(args):
    from . import QuantizationOptions
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
    from . import quantize_graph, QuantizationWarning
    options = options_from_args(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuantizationWarning)
        qgraph, report = quantize_graph(graph, args.calib_data, options)
    for w in caught:
        if issubclass(w.category, QuantizationWarning):
            print(f"n2d2c: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if echo_report:
        sys.stderr.write(report.table())
    return qgraph, report


def write_ir(graph, path: str, *, inline_limit: int | None = 16) -> None:
    """The textual IR at ``path``, large constants in the .npz of the same stem."""
    import io

    import numpy as np

    from ..ir import print_graph
    from ..util.atomic import atomic_write_bytes
    resources: dict = {}
    text = print_graph(graph, inline_limit=inline_limit, resources=resources)
    out = Path(path)
    atomic_write_bytes(out, text.encode())
    if resources:
        buffer = io.BytesIO()
        np.savez(buffer, **resources)
        atomic_write_bytes(out.with_suffix(".npz"), buffer.getvalue())


def cmd_quantize(args) -> int:
    from ..cli import _load, _run_pipeline
    graph = _run_pipeline(args, _load(args))
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
        write_ir(qgraph, args.output, inline_limit=None if args.inline_constants else 16)
        print(f"wrote quantized IR to {args.output}")
    elif not args.report:
        from ..ir import print_graph
        sys.stdout.write(print_graph(qgraph, inline_limit=None if args.inline_constants else 16,
                                     resources={}))
    return 0


def cmd_evaluate(args) -> int:
    from ..cli import _load, _run_pipeline
    from . import evaluate_classifier, load_data
    graph = _run_pipeline(args, _load(args))
    data = load_data(args.data, input_names=[v.name for v in graph.inputs])
    if "y" not in data:
        raise InputError(f"'{args.data}' has no labels: evaluation needs an .npz with 'x' and 'y'")
    labels = data.pop("y")
    samples = data if len(data) > 1 else data["x"] if "x" in data else next(iter(data.values()))
    if args.limit and args.limit > 0:
        labels = labels[:args.limit]
        samples = ({k: v[:args.limit] for k, v in samples.items()} if isinstance(samples, dict)
                   else samples[:args.limit])
    if wants_quantization(args):
        float_result = evaluate_classifier(graph, samples, labels)
        print(f"float accuracy: {float_result.accuracy * 100:.2f}%")
        graph, report = quantize_from_args(args, graph)
        print(f"quantized ({report.options.nbbits}-bit, {report.options.act_rescaling_mode}, "
              f"{report.options.act_clipping_mode} clipping):")
    result = evaluate_classifier(graph, samples, labels)
    sys.stdout.write(result.format())
    return 0


def add_commands(sub, add_model_args, add_pipeline_args) -> None:
    p = sub.add_parser("quantize", help="post-training quantization to the integer IR")
    add_model_args(p)
    add_pipeline_args(p)
    add_quantization_args(p, required=True)
    p.add_argument("--report", action="store_true",
                   help="print the per-layer table (and write it as CSV beside -o)")
    p.add_argument("--csv", default=None, metavar="FILE", help="write the report as CSV here")
    p.add_argument("-o", "--output", help="write the quantized IR here (.ir + .npz)")
    p.add_argument("--inline-constants", action="store_true", help="print every constant inline")
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("evaluate", help="classification accuracy and confusion matrix")
    add_model_args(p)
    add_pipeline_args(p)
    p.add_argument("--data", required=True, metavar="FILE.npz",
                   help="samples 'x' and integer labels 'y'")
    p.add_argument("--limit", type=int, default=0, help="evaluate the first N samples only")
    add_quantization_args(p)
    p.set_defaults(func=cmd_evaluate)
