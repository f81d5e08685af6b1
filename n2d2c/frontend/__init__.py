"""Frontends: turn a model file (ONNX, N2D2 INI, textual IR) into a verified Graph."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import InputError, UsageError
from ..ir import Graph, verify


def parse_shape_overrides(specs: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """``["x=1x3x224x224"]`` → ``{"x": (1, 3, 224, 224)}`` (the --input-shape flag)."""
    shapes = {}
    for spec in specs:
        name, sep, dims = spec.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
            if any(d <= 0 for d in shapes[name]):
                raise ValueError
        except ValueError:
            raise UsageError(f"bad --input-shape '{spec}'; expected NAME=DxDx..., "
                             "e.g. input=1x3x224x224") from None
    return shapes


def load_model(path: str | os.PathLike, *, input_shapes: Mapping[str, tuple] | None = None,
               allow_dirs: Sequence[str | os.PathLike] = (), params=None,
               limits=None) -> Graph:
    """Load an .onnx, .ini or .ir file into a verified graph.

    ``params`` (INI only) is a folder of N2D2 parameter files or an .npz;
    ``limits`` is a ``LoadLimits`` (defaults apply when None).
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
        from .ini import load_ini_network
        graph = load_ini_network(path, allow_dirs=allow, params=params, limits=limits.ini,
                                 max_param_bytes=limits.max_constant_bytes)
    elif suffix == ".ir":
        graph = load_ir_file(path)
    else:
        from .onnx import load_onnx
        if params is not None:
            raise UsageError("--params applies to N2D2 INI models only; an ONNX model "
                             "carries its weights")
        graph = load_onnx(path, input_shapes=dict(input_shapes or {}), allow_dirs=allow,
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
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read IR file '{path}': {exc}") from None
    side = path.with_suffix(".npz")
    resources = None
    if side.exists():
        try:
            with np.load(side, allow_pickle=False) as npz:
                resources = {k: npz[k] for k in npz.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read constant data '{side}': {exc}") from None
    return parse_graph(text, resources=resources, filename=str(path))
