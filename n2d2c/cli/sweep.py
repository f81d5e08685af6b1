"""`n2d2c sweep`: a grid of quantization settings, one task per configuration (on a
Dask cluster with --scheduler/--workers), as a table, a CSV and a Pareto plot."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .common import load_model, run_pipeline


def add_arguments(p) -> None:
    p.add_argument("--data", required=True, metavar="PATH",
                   help="evaluation samples: .npz with 'x' (and labels 'y' for accuracy), "
                        ".npy, or a folder; workers read it from this path or fsspec URL")
    p.add_argument("--calib-data", default=None, metavar="PATH",
                   help="calibration samples (default: --data)")
    p.add_argument("--calib", type=int, default=-1, metavar="N",
                   help="calibration samples to use (-1: all)")
    p.add_argument("--limit", type=int, default=-1, metavar="N",
                   help="evaluate on the first N samples only")
    p.add_argument("--grid", required=True, metavar="GRID",
                   help="e.g. \"nbbits=8,16;act-clipping-mode=MSE,KL-Divergence,Quantile;"
                        "act-rescaling-mode=Single-shift,Fixed-point32\"")
    p.add_argument("-o", "--output", default=None, metavar="DIR",
                   help="write sweep.csv and pareto.png here")


def cmd_sweep(args) -> int:
    from ..distributed import DataRef, cluster
    from ..distributed.sweep import parse_grid, run_sweep
    from ..distributed.sweep_report import best_command, format_table, write_csv, \
        write_pareto_png
    configs = parse_grid(args.grid)
    graph = run_pipeline(args, load_model(args))
    names = [v.name for v in graph.inputs]
    calib_path = args.calib_data or args.data
    for path in {calib_path, args.data}:
        if "://" not in path and not Path(path).exists():
            raise InputError(f"sweep data '{path}' does not exist")
    with cluster(args.scheduler, args.workers) as client:
        outcome = run_sweep(graph, configs, calibration=DataRef.of(calib_path, names, args.calib),
                            evaluation=DataRef.of(args.data, names, args.limit), client=client)
    rows = outcome.rows
    where = (f"{outcome.workers} Dask worker(s), {outcome.retries} task retries"
             if client is not None else "this process")
    print(f"sweep of {len(rows)} configurations on {rows[0].samples} samples ({where}); "
          "* marks the Pareto front (quality vs arena + weights)")
    sys.stdout.write(format_table(rows))
    print("best: " + best_command(rows, args.model, calib_path))
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(rows, out / "sweep.csv")
        write_pareto_png(rows, out / "pareto.png")
        print(f"wrote {out / 'sweep.csv'} and {out / 'pareto.png'}")
    return 0
