"""The Python API that the CLI and build systems share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .ir import Graph


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


def compile(model: str | os.PathLike | Graph, output_dir: str | os.PathLike, *,
            backend: str = "cpp", passes: str | None = None, name: str = "network",
            **options) -> Path:
    """Run the backend's pipeline (or ``passes``) and write its project atomically."""
    from .backends.registry import CompileOptions, get_backend
    from .util.atomic import atomic_output_dir

    chosen = get_backend(backend)
    graph = load(model, **{k: options.pop(k) for k in ("input_shapes", "data_shapes",
                                                       "allow_dirs", "params", "limits")
                           if k in options})
    pipeline = chosen.default_pipeline if passes is None else passes
    if pipeline:
        from .passes import Pipeline
        Pipeline.parse(pipeline).run(graph)
    with atomic_output_dir(output_dir) as scratch:
        chosen.emit(graph, scratch, CompileOptions(output_dir=Path(output_dir), name=name,
                                                   extra=options))
    return Path(output_dir)
