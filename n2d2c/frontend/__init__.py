"""Frontends: turn a model file (ONNX, N2D2 INI, textual IR) into a verified Graph."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import InputError, UsageError
from ..ir import Graph, verify
from ..util.inputs import note_input


def parse_shape_overrides(specs: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """``["x=1x3x224x224"]`` → ``{"x": (1, 3, 224, 224)}`` (the --input-shape flag);
    without ``NAME=`` the key is ``""``: the model's only input."""
    shapes = {}
    for spec in specs:
        name, sep, dims = spec.partition("=")
        if not sep:
            name, dims = "", spec  # the model's only input
        try:
            if sep and not name or name in shapes:
                raise ValueError
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
            if any(d <= 0 for d in shapes[name]):
                raise ValueError
        except ValueError:
            raise UsageError(f"bad --input-shape '{spec}'; expected [NAME=]DxDx..., e.g. "
                             "input=1x3x224x224 (or 1x3x224x224 for a one-input model), "
                             "once per input") from None
    return shapes


def load_model(path: str | os.PathLike, *, input_shapes: Mapping | None = None,
               data_shapes: Mapping | None = None,
               allow_dirs: Sequence[str | os.PathLike] = (), params=None,
               limits=None) -> Graph:
    """Load an .onnx, .ini or .ir file into a verified graph.

    ``input_shapes`` fixes input shapes and ``data_shapes`` (``binding.DataShape``)
    binds symbolic dimensions from the data to be fed; keys are input names,
    positions, or ``""`` for the only input.  ``params`` (INI only) is a folder of
    N2D2 parameter files or an .npz; ``limits`` is a ``LoadLimits`` (defaults apply
    when None).
    """
    from .limits import LoadLimits, check_graph_size
    limits = limits or LoadLimits()
    path = Path(path)
    if not path.exists():
        raise InputError(f"model file '{path}' does not exist")
    if path.is_dir():
        raise InputError(f"'{path}' is a folder; expected a model file (.onnx, .ini or .ir)")
    allow = tuple(Path(d) for d in allow_dirs)
    suffix = path.suffix.lower()
    if suffix == ".ini":
        from .binding import ini_input_size
        from .ini import load_ini_network
        batch, size, fallback = ini_input_size(input_shapes or {}, data_shapes or {})
        graph = load_ini_network(path, allow_dirs=allow, params=params, limits=limits.ini,
                                 max_param_bytes=limits.max_constant_bytes,
                                 batch_size=batch or 1, input_size=size,
                                 default_input_size=fallback)
    elif suffix == ".ir":
        graph = load_ir_file(path)
    else:
        from .onnx import load_onnx
        if params is not None:
            raise UsageError("--params applies to N2D2 INI models only; an ONNX model "
                             "carries its weights")
        graph = load_onnx(path, input_shapes=dict(input_shapes or {}),
                          data_shapes=dict(data_shapes or {}), allow_dirs=allow,
                          max_constant_bytes=limits.max_constant_bytes)
    check_graph_size(graph, limits)
    verify(graph)
    return graph


def load_ir_file(path: Path) -> Graph:
    """Textual IR, with large constants in the .npz of the same stem (if present)."""
    import numpy as np

    from ..ir import parse_graph
    try:
        text = path.read_text()
        note_input(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read IR file '{path}': {exc}") from None
    side = path.with_suffix(".npz")
    resources = None
    if side.exists():
        try:
            note_input(side)
            with np.load(side, allow_pickle=False) as npz:
                resources = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read constant data '{side}': {exc}") from None
    return parse_graph(text, resources=resources, filename=str(path))
