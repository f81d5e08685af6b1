"""The Python API that the CLI and build systems share."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence, Union

import numpy as np

from .ir import Graph

if TYPE_CHECKING:
    from .quantization import QuantizationOptions, QuantizationReport

#: Calibration samples: a data file or folder, arrays [N, ...] (by input name, or one
#: array for a one-input model), or a list of feed dicts.
Calibration = Union[str, os.PathLike, Mapping[str, np.ndarray], np.ndarray, Sequence[Mapping]]


def load(model: str | os.PathLike | Graph, *, input_shapes: Mapping | None = None,
         data_shapes: Mapping | None = None, allow_dirs: Sequence[str | os.PathLike] = (),
         params=None, limits=None) -> Graph:
    """A verified float graph from a model path (.onnx, .ini, .ir) or a Graph.

    ``input_shapes``: shapes of inputs with symbolic dimensions, by input name (or
    ``""`` for a one-input model); ``data_shapes``: ``n2d2c.frontend.binding.DataShape``
    of the data to be fed, which binds the symbolic dimensions it determines;
    ``params``: trained parameters of an INI model (folder of N2D2 files or .npz);
    ``limits``: a ``n2d2c.frontend.limits.LoadLimits``.
    """
    if isinstance(model, Graph):
        return model
    from .frontend import load_model
    return load_model(model, input_shapes=input_shapes, data_shapes=data_shapes,
                      allow_dirs=allow_dirs, params=params, limits=limits)


def run(model: str | os.PathLike | Graph, inputs: Mapping[str, np.ndarray] | np.ndarray,
        **load_options) -> dict[str, np.ndarray]:
    """Simulate ``model`` on ``inputs`` (a dict by input name, or one array); symbolic
    input dimensions are bound from the arrays' shapes."""
    from .frontend.binding import DataShape
    from .runtime import simulate
    arrays = dict(inputs) if isinstance(inputs, Mapping) else {"": np.asarray(inputs)}
    load_options.setdefault("data_shapes", {k: DataShape(np.shape(a), "the array given")
                                            for k, a in arrays.items()})
    graph = load(model, **load_options)
    if "" in arrays:
        arrays = {graph.inputs[0].name: arrays.pop("")}
    return simulate(graph, arrays)


def evaluate(model: str | os.PathLike | Graph, x, y, *, loss: str | None = None,
             target: str | None = None, labels_mapping=None, labels=None,
             top_n: int | None = None, weak_target: int | None = None,
             quantization: "QuantizationOptions | Mapping | None" = None,
             calibration: Calibration | None = None, **load_options) -> dict:
    """Score ``model`` on samples ``x`` (an array, or arrays by input name) against labels
    ``y`` with N2D2's Target semantics (docs/EVALUATION.md), in the simulator; with
    ``calibration`` the quantized network is scored.  Returns what ``n2d2c eval`` writes
    to metrics.json: success_rate, top_n_rate, per_target, confusion, loss, ..."""
    from .frontend.binding import DataShape
    from .quantization.eval_report import metrics
    from .quantization.eval_setup import make_evaluator, select_target
    from .quantization.evaluation import run_outputs
    arrays = dict(x) if isinstance(x, Mapping) else {"": np.asarray(x)}
    load_options.setdefault("data_shapes", {k: DataShape(np.shape(a), "the samples given",
                                                         samples=True)
                                            for k, a in arrays.items()})
    graph = load(model, **load_options)
    if "" in arrays:
        arrays = {graph.inputs[0].name: arrays.pop("")}
    indices, chosen = select_target(graph, target)
    if top_n is not None:
        chosen.top_n = top_n
    if weak_target is not None:
        chosen.weak_target = weak_target
    evaluator = make_evaluator(graph, indices[0], chosen, loss=loss,
                               labels_mapping=labels_mapping, label_names=labels)
    if calibration is not None:
        samples, _ = _calibration_samples(calibration)
        graph, _ = _quantize(graph, samples, calibration, quantization)
    names = [graph.outputs[i].name for i in indices]
    outputs = run_outputs(graph, arrays, outputs=names)
    result = evaluator.evaluate(outputs[names[0]], y,
                                mask_output=outputs[names[1]] if len(names) > 1 else None)
    return {"target": chosen.name, **metrics(result)}


def random_inputs(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Reproducible inputs for every graph input: standard-normal floats; zeros for
    integer inputs (their meaning is the model's: indices, token ids, and 0 is the one
    value every such input accepts); random booleans."""
    rng = np.random.default_rng(seed)

    def draw(v):
        dtype = v.type.dtype
        if dtype.is_float:
            return rng.standard_normal(v.shape).astype(dtype.numpy)
        if dtype.is_integer:
            return np.zeros(v.shape, dtype.numpy)
        return rng.random(v.shape) < 0.5
    return {v.name: draw(v) for v in graph.inputs}


@dataclass(frozen=True)
class GeneratedFile:
    """One file of a generated project: its path relative to the output folder."""

    path: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class CompileResult:
    """What ``compile`` wrote and what it knows about the project.

    ``files``: every generated file (sorted); ``written``/``kept``/``removed``: the files
    this run rewrote, left untouched because their bytes were unchanged (their
    modification times too), and deleted as stale; ``inputs``: every file the compile
    read (what ``depfile`` lists); ``arena_bytes``, ``memory`` (the memory plan's
    summary, as in ``network.json``) and ``sizes`` (bytes: ``arena``, ``external`` and,
    for stm32, ``flash``/``ram`` by part) for backends that plan memory, else None/empty;
    ``quantization``: the QuantizationReport when the model was quantized.
    A result is also the output folder (``os.fspath(result)``, ``Path(result)``).
    """

    output_dir: Path
    backend: str
    name: str
    files: tuple[GeneratedFile, ...]
    written: tuple[str, ...]
    kept: tuple[str, ...]
    removed: tuple[str, ...]
    inputs: tuple[Path, ...]
    arena_bytes: int | None = None
    memory: Mapping[str, object] | None = None
    sizes: Mapping[str, int] = field(default_factory=dict)
    quantization: "QuantizationReport | None" = None

    def __fspath__(self) -> str:
        return os.fspath(self.output_dir)

    def file(self, path: str) -> GeneratedFile:
        """The generated file at ``path`` (relative, '/'-separated)."""
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)


MANIFEST_NAME = "manifest.json"
LOAD_OPTIONS = ("input_shapes", "data_shapes", "allow_dirs", "params", "limits")


def compile(model: str | os.PathLike | Graph, output_dir: str | os.PathLike | None = None, *,
            backend: str = "cpp", options: Mapping[str, object] | None = None,
            passes: str | None = None, name: str = "network",
            quantization: "QuantizationOptions | Mapping[str, object] | None" = None,
            calibration: Calibration | None = None,
            quantize: "Callable[[Graph], tuple[Graph, object]] | None" = None,
            input_shapes: Mapping | None = None,
            data_shapes: Mapping | None = None, allow_dirs: Sequence[str | os.PathLike] = (),
            params=None, limits=None, pipeline_options: Mapping[str, object] | None = None,
            depfile: str | os.PathLike | None = None,
            depfile_target: str | os.PathLike | None = None, manifest: bool = False,
            **backend_options) -> CompileResult:
    """Compile ``model`` (a path or a Graph, which the pipeline then rewrites in place)
    for ``backend`` into ``output_dir``, written atomically; files whose bytes did not
    change keep their modification time.

    ``options`` (or keyword arguments): the backend's options (``n2d2c backends``);
    ``passes``: the pipeline instead of the backend's default one, run with
    ``pipeline_options`` (``Pipeline.run`` keywords: ``verify_each``,
    ``print_ir_after_all``, ``time_passes``, ``out``...); ``calibration``: samples
    (a path: .npz/.npy/folder, arrays, or feed dicts) that quantize the model after the
    pipeline, with ``quantization`` (a QuantizationOptions or a dict of its fields)
    — a path's arrays also bind symbolic input dimensions; ``quantize``: a function
    graph -> (quantized graph, report) used instead (the CLI's); the load options are
    those of ``load``.  ``depfile``: write a Make/Ninja depfile naming ``depfile_target``
    (default: the output folder) and every file read; ``manifest``: write
    ``manifest.json`` (every generated file with its size and sha256) into the project.
    """
    from .backends.registry import CompileOptions, get_backend
    from .errors import UsageError
    from .util.atomic import FolderChanges, atomic_output_dir
    from .util.inputs import record_inputs

    if output_dir is None:
        raise UsageError("compile needs an output folder (output_dir=...)")
    chosen = get_backend(backend)
    extra = {**dict(options or {}), **backend_options}
    chosen.resolve_options(extra)  # bad options fail before the model is loaded
    if quantization is not None and calibration is None:
        raise UsageError("quantization options need calibration data (calibration=...)")
    if quantize is not None and calibration is not None:
        raise UsageError("give calibration data or a quantize function, not both")
    output_dir = Path(output_dir)
    with record_inputs() as record:
        samples, shapes = _calibration_samples(calibration)
        graph = load(model, input_shapes=input_shapes,
                     data_shapes=shapes if data_shapes is None else data_shapes,
                     allow_dirs=allow_dirs, params=params, limits=limits)
        pipeline = chosen.default_pipeline if passes is None else passes
        if pipeline:
            from .passes import Pipeline
            Pipeline.parse(pipeline).run(graph, **dict(pipeline_options or {}))
        report = quantized = None
        if calibration is not None:
            quantized, report = _quantize(graph, samples, calibration, quantization)
        elif quantize is not None:
            quantized, report = quantize(graph)
        if quantized is not None and chosen.takes_float_graph:
            extra = {**extra, "quantized_graph": quantized}  # the scales, for its own INT8
        elif quantized is not None:
            graph = quantized
        changes = FolderChanges()
        with atomic_output_dir(output_dir, changes=changes) as scratch:
            facts = chosen.emit(graph, scratch, CompileOptions(output_dir=output_dir, name=name,
                                                               extra=extra)) or {}
            if manifest:
                _write_manifest(scratch)
        inputs = tuple(record.files())
    if depfile is not None:
        from .errors import InputError
        from .util.buildfiles import write_depfile
        try:
            write_depfile(depfile, output_dir if depfile_target is None else depfile_target,
                          inputs)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return CompileResult(
        output_dir=output_dir, backend=chosen.name, name=name,
        files=_generated_files(output_dir), written=tuple(changes.written),
        kept=tuple(changes.kept), removed=tuple(changes.removed), inputs=inputs,
        arena_bytes=facts.get("arena_bytes"), memory=facts.get("memory"),
        sizes=dict(facts.get("sizes", {})), quantization=report)


def _calibration_samples(calibration):
    """(the samples, the DataShape of each data set) from ``calibration``: a path is
    read here (once), so that its shapes bind symbolic input dimensions."""
    if not isinstance(calibration, (str, os.PathLike)):
        return calibration, None
    from .frontend.binding import DataShape
    from .quantization.data import read_arrays
    arrays = read_arrays(calibration)
    samples = {k: a for k, a in arrays.items() if k != "y"}
    shapes = {("" if len(samples) == 1 or key == "x" else key):
              DataShape(tuple(a.shape), f"'{os.fspath(calibration)}'", samples=True)
              for key, a in samples.items()}
    return arrays, shapes


def _quantize(graph: Graph, samples, calibration, quantization):
    from .quantization import quantize_graph
    from .quantization.data import select_inputs
    if isinstance(calibration, (str, os.PathLike)):
        samples = select_inputs(samples, [v.name for v in graph.inputs], calibration)
    return quantize_graph(graph, samples, quantization)


def _generated_files(folder: Path) -> tuple[GeneratedFile, ...]:
    from .util.buildfiles import sha256_of
    return tuple(GeneratedFile(p.relative_to(folder).as_posix(), p.stat().st_size, sha256_of(p))
                 for p in sorted(folder.rglob("*")) if p.is_file())


def _write_manifest(folder: Path) -> None:
    from .util.buildfiles import manifest_text
    entries = {f.path: {"bytes": f.bytes, "sha256": f.sha256}
               for f in _generated_files(folder) if f.path != MANIFEST_NAME}
    (folder / MANIFEST_NAME).write_text(manifest_text(entries), encoding="utf-8", newline="\n")
