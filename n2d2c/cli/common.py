"""What several subcommands do the same way: load the model, run the pass pipeline,
read the memory flags, write or print the IR."""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

from ..errors import InputError
from ..frontend.ini.limits import LIMIT_FLAGS as INI_LIMIT_FLAGS
from ..ir import Graph
from ..util.inputs import note_input


def load_limits(args):
    """The LoadLimits of the resource-limit flags (defaults where a flag is absent)."""
    from ..frontend.limits import LoadLimits
    defaults = LoadLimits()
    ini = {f: getattr(args, f"ini_{f}") for f in INI_LIMIT_FLAGS
           if getattr(args, f"ini_{f}") is not None}
    top = {f: getattr(args, f) for f in ("max_constant_bytes", "max_graph_ops")
           if getattr(args, f) is not None}
    return dataclasses.replace(defaults, ini=dataclasses.replace(defaults.ini, **ini), **top)


def load_model(args) -> Graph:
    """The model, with symbolic input dimensions bound from ``--input-shape`` and from
    the data the command will feed (``--input`` files, ``--calib-data``, ``--data``)."""
    from ..api import load
    from ..frontend import parse_shape_overrides
    return load(args.model, input_shapes=parse_shape_overrides(args.input_shape),
                data_shapes=data_shapes(args), allow_dirs=args.allow_dir, params=args.params,
                limits=load_limits(args))


def data_shapes(args) -> dict:
    """DataShape of what the command feeds, keyed as ``n2d2c.frontend.binding`` says:
    ``--input`` tensors by name or position, data sets by array name (or ``""``)."""
    from ..frontend.binding import DataShape
    shapes: dict = {}
    for attr in ("data", "calib_data"):  # data sets: [N, ...] samples
        arrays = data_set(args, attr)
        if arrays is None:
            continue
        samples = {k: a for k, a in arrays.items() if k != "y"}
        for key, array in samples.items():
            key = "" if len(samples) == 1 or key == "x" else key
            shapes[key] = DataShape(tuple(array.shape), f"'{getattr(args, attr)}'", samples=True)
    for i, spec in enumerate(getattr(args, "input", None) or []):
        name, file = input_spec(spec, i)
        shape = tuple(read_npy(file).shape)
        if getattr(args, "batch", 1) != 1 and shape:
            shape = (1, *shape[1:])  # N samples: the graph is built for one, then set-batch
        shapes[name] = DataShape(shape, f"'{file}'")
    return shapes


def input_spec(spec: str, index: int) -> tuple[str | int, str]:
    """``--input NAME=FILE`` -> (NAME, FILE); ``--input FILE`` -> (its position, FILE)."""
    name, sep, file = spec.partition("=")
    return (name, file) if sep else (index, spec)


def read_npy(file: str):
    import numpy as np
    try:
        return np.load(file, allow_pickle=False, mmap_mode="r")
    except FileNotFoundError:
        raise InputError(f"input file '{file}' does not exist") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read '{file}' as a .npy array: {exc}") from None


def data_set(args, attr: str) -> dict | None:
    """Every array of the data file/folder given by flag ``attr``, read once per run
    (the shapes bind the model's inputs; the arrays then calibrate or evaluate)."""
    path = getattr(args, attr, None)
    if not path:
        return None
    cache = vars(args).setdefault("_data_sets", {})
    if attr not in cache:
        from ..quantization.data import read_arrays
        cache[attr] = read_arrays(path)
    return cache[attr]


def run_pipeline(args, graph: Graph, default: str | None = None) -> Graph:
    """``graph`` after ``--passes`` (or ``default`` when the flag is absent)."""
    from ..passes import Pipeline, load_pass_module
    for module in args.load_pass:
        load_pass_module(module)
    text = args.passes if args.passes is not None else default
    if not text:
        return graph
    Pipeline.parse(text).run(graph, **pipeline_options(args))
    return graph


def pipeline_options(args) -> dict:
    """The ``Pipeline.run`` keywords of the pipeline flags."""
    return dict(verify_each=args.verify_each, print_ir_after_all=args.print_ir_after_all,
                print_ir_after=tuple(args.print_ir_after), time_passes=args.time_passes,
                out=sys.stderr)


def memory_options(args):
    """MemoryOptions from --export-parameters and --memory-strategy (None if neither)."""
    if not args.export_parameters and not args.memory_strategy:
        return None
    from ..passes.memory import MemoryOptions, options_from_params, parse_params
    options = MemoryOptions()
    if args.export_parameters:
        path = Path(args.export_parameters)
        try:
            text = path.read_text(encoding="utf-8")
            note_input(path)
        except OSError as err:
            raise InputError(f"cannot read parameters file: {err.strerror}",
                             location=str(path)) from None
        options = options_from_params(parse_params(text, str(path)), strict=False)
    if args.memory_strategy:
        options = dataclasses.replace(options, MemoryManagerStrategy=args.memory_strategy)
    return options


def output_ir(graph: Graph, path: str | None, *, inline_constants: bool = False) -> None:
    """The textual IR at ``path`` (large constants in the .npz of the same stem), or
    on stdout when ``path`` is None (large constants elided)."""
    from ..ir import print_graph
    inline_limit = None if inline_constants else 16
    resources: dict = {}
    text = print_graph(graph, inline_limit=inline_limit, resources=resources)
    if path is None:
        sys.stdout.write(text)
        return
    import numpy as np

    from ..util.atomic import atomic_write_bytes
    out = Path(path)
    atomic_write_bytes(out, text.encode())
    if resources:
        buffer = io.BytesIO()
        np.savez(buffer, **resources)
        atomic_write_bytes(out.with_suffix(".npz"), buffer.getvalue())
