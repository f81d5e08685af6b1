"""`n2d2c eval` (alias `evaluate`): score a network on a labelled data set with N2D2's
Target semantics, through the simulator or a generated backend, float or quantized."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .common import load_model, run_pipeline
from .quantize import quantize_from_args, wants_quantization

BACKENDS = ("sim", "cpp", "stm32-qemu")


def add_eval_args(p) -> None:
    p.add_argument("--data", required=True, metavar="FILE.npz|DIR",
                   help="an .npz with 'x' (samples) and 'y' (class indices, label names or "
                        "per-pixel label maps), or an N2D2 DIR database (a sub-folder per label)")
    p.add_argument("--backend", default="sim", choices=BACKENDS,
                   help="what runs the network: the simulator (default), the generated "
                        "C++ testbench (cpp), or the stm32 firmware under QEMU (stm32-qemu)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="write metrics.json, confusion.csv, confusion.png (and label maps "
                        "for segmentation) here (written atomically)")
    p.add_argument("--loss", metavar="SPEC", help="loss to report, e.g. cross-entropy, "
                   "'focal{gamma=2}', 'dice{ignore-index=0}'")
    p.add_argument("--labels", metavar="FILE", help="label names, one per line (line = label ID)")
    p.add_argument("--labels-mapping", metavar="FILE",
                   help="N2D2 labels mapping file (label name -> output index; '*', 'default', "
                        "wildcards); overrides the INI target's LabelsMapping")
    p.add_argument("--target", metavar="NAME",
                   help="graph output or INI target section to score (default: the first)")
    p.add_argument("--top-n", type=int, metavar="N", help="also report top-N accuracy")
    p.add_argument("--weak-target", type=int, metavar="T",
                   help="segmentation: WeakTarget (-1: any label beats 'ignore'; -2: none)")
    p.add_argument("--binary-threshold", type=float, metavar="V",
                   help="threshold of a single (logistic) output (default 0.5)")
    p.add_argument("--compare", action="store_true",
                   help="evaluate float and quantized (needs --calib-data): both accuracies and "
                        "the disagreement rate")
    p.add_argument("--batch", type=int, metavar="N",
                   help="samples per run (the set-batch pass; the last batch is padded)")
    p.add_argument("--limit", type=int, default=0, help="evaluate the first N samples only")
    p.add_argument("--reference-precision", action="store_true",
                   help="simulate with the float64-accumulating reference kernels instead of "
                        "the float32 BLAS fast path (--backend sim only; slower)")


# -- set-up ------------------------------------------------------------------------------
def _load(args):
    """The model (batch set by --batch) and the data arrays."""
    from ..quantization.eval_data import read_labelled
    vars(args).setdefault("_data_sets", {})["data"] = read_labelled(args.data)
    graph = load_model(args)
    if args.batch is not None:
        if args.batch < 1:
            raise UsageError(f"--batch {args.batch}: must be at least 1")
        if any(v.shape[:1] != (args.batch,) for v in graph.inputs):
            from ..passes import Pipeline      # the graph runs N samples at once
            Pipeline.parse(f"set-batch{{size={args.batch}}}").run(graph)
    return run_pipeline(args, graph)


def _samples_and_labels(args, graph):
    from ..quantization.eval_data import samples_and_labels
    return samples_and_labels(args._data_sets["data"], [v.name for v in graph.inputs],
                              args.data, args.limit)


def _choose_target(args, graph):
    """([output index, mask output index if any], Target) from --target, the INI target
    sections and the flags."""
    from ..quantization.eval_setup import select_target
    indices, target = select_target(graph, args.target)
    for flag in ("top_n", "weak_target", "binary_threshold"):
        if getattr(args, flag) is not None:
            setattr(target, flag, getattr(args, flag))
    return indices, target


def _evaluator(args, graph, index, target):
    from ..quantization.eval_setup import make_evaluator
    return make_evaluator(graph, index, target, loss=args.loss,
                          labels_mapping=args.labels_mapping, label_names=args.labels)


# -- execution ---------------------------------------------------------------------------
class _Progress:
    """A tqdm bar that appears only when the run lasts over a second (lazy import)."""

    def __init__(self, total: int, what: str):
        try:
            from tqdm import tqdm
        except ImportError:          # the bar is a convenience: run without it
            self.bar = None
            return
        # disable=None: no bar when stderr is not a terminal (logs, pipes, tests)
        self.bar = tqdm(total=total, desc=what, unit="sample", delay=1.0, leave=False,
                        file=sys.stderr, disable=None)

    def __call__(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _outputs(args, graph, samples, indices, what: str) -> list[np.ndarray]:
    """The outputs ``indices`` of ``graph`` for every sample, [N, ...] each."""
    from ..quantization.evaluation import run_outputs
    names = [graph.outputs[i].name for i in indices]
    total = len(next(iter(samples.values())))
    precision = "reference" if args.reference_precision else "fast"
    progress = _Progress(total, what)
    try:
        client = getattr(args, "_client", None)
        if args.backend == "sim" and client is not None:
            from ..distributed import worker_count
            from ..distributed.evaluation import LabelledRef, outputs_distributed
            ref = LabelledRef.of(args.data, [v.name for v in graph.inputs], args.limit)
            results, retries = outputs_distributed(client, graph, ref, names, total,
                                                   precision)
            workers = worker_count(client)
            print(f"n2d2c: {what} outputs on {workers} Dask worker(s), {retries} task retries",
                  file=sys.stderr)
        elif args.backend == "sim":
            results = run_outputs(graph, samples, outputs=names, progress=progress,
                                  precision=precision)
        else:
            from . import eval_backends
            run = eval_backends.cpp_outputs if args.backend == "cpp" else \
                eval_backends.stm32_qemu_outputs
            results = run(graph, samples, names, progress)
    finally:
        progress.close()
    return [results[n] for n in names]


# -- the command -------------------------------------------------------------------------
def cmd_eval(args) -> int:
    """Score the model; with --scheduler/--workers the simulator's runs (and the
    calibration) go to one Dask cluster held for the whole command."""
    from ..distributed import cluster, wants_cluster
    if args.backend != "sim" and wants_cluster(args.scheduler, args.workers):
        raise UsageError(f"--scheduler/--workers shard the simulator's runs; --backend "
                         f"{args.backend} runs on this machine")
    if args.backend != "sim" and args.reference_precision:
        raise UsageError(f"--reference-precision chooses the simulator's kernels; --backend "
                         f"{args.backend} runs generated code")
    with cluster(args.scheduler, args.workers) as client:
        args._client = client
        return _eval(args)


def _eval(args) -> int:
    from ..quantization.eval_report import format_result, metrics, write_outputs
    graph = _load(args)
    samples, labels = _samples_and_labels(args, graph)
    indices, target = _choose_target(args, graph)
    evaluator = _evaluator(args, graph, indices[0], target)
    quantized = wants_quantization(args)
    if args.compare and not quantized:
        raise UsageError("--compare evaluates float against quantized: it needs --calib-data")
    runs = []                         # (what ran, its EvalResult): float, then quantized
    float_out = _outputs(args, graph, samples, indices, "float")
    runs.append(("float", _evaluate(evaluator, float_out, labels)))
    if quantized:
        qgraph, report = quantize_from_args(args, graph)
        q_out = _outputs(args, qgraph, samples, indices, "quantized")
        runs.append((f"quantized ({report.options.nbbits}-bit, "
                     f"{report.options.act_rescaling_mode}, {report.options.act_clipping_mode} "
                     f"clipping)", _evaluate(evaluator, q_out, labels)))
    extra = {"model": str(args.model), "data": str(args.data), "backend": args.backend,
             "target": target.name}
    final_label, final = runs[-1]
    if quantized:
        float_result = runs[0][1]
        print(f"float accuracy: {float_result.scores.success_rate * 100:.2f}%")
        extra["float"] = metrics(float_result)
        if args.compare:
            sys.stdout.write(format_result(float_result, title="float:"))
            disagreement = _disagreement(float_result, final)
            extra["disagreement_rate"] = disagreement
            print(f"quantized accuracy: {final.scores.success_rate * 100:.2f}%")
            print(f"disagreement: {disagreement * 100:.2f}% of the "
                  f"{'pixels' if final.segmentation else 'samples'} (estimated targets differ)")
    sys.stdout.write(format_result(final, title=f"{final_label}:" if quantized else ""))
    if args.output:
        from ..util.atomic import atomic_output_dir
        with atomic_output_dir(args.output) as folder:
            written = write_outputs(folder, final, target=target,
                                    title=f"{Path(str(args.model)).name}: {final_label}",
                                    extra_json=extra)
        print(f"wrote {', '.join(written)} to {args.output}")
    return 0


def _evaluate(evaluator, outputs: list[np.ndarray], labels):
    """Score the target's output (outputs[0]) with its mask target's (outputs[1], if any)."""
    return evaluator.evaluate(outputs[0], labels,
                              mask_output=outputs[1] if len(outputs) > 1 else None)


def _disagreement(a, b) -> float:
    """Share of the positions where two runs estimate different targets."""
    return float(np.mean(a.estimated != b.estimated))
