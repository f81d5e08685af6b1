"""Static shapes for the graph inputs.

IR shapes are static.  A symbolic or missing dimension is taken from the user's
``input_shapes``, or bound from the data to be fed (``n2d2c.frontend.binding``);
failing that, a symbolic *first* dimension is the batch and becomes 1, and any
other unknown dimension is an error that says how to give it.
"""

from __future__ import annotations

import numbers
from typing import Mapping, Sequence

from ...errors import ShapeError, UsageError
from ..binding import bind_input_shapes, resolve_keys, spell as _spell


def _dims(value_info) -> list[int | str | None] | None:
    """Declared dims: int, the symbol's name, or None; None overall if the rank is unknown."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dims


def bind_shapes(inputs: Sequence, overrides: Mapping, data: Mapping
                ) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(``--input-shape`` by input name, dims bound from shapes and data by input name)."""
    names = [vi.name for vi in inputs]
    overrides = resolve_keys(names, overrides, "--input-shape", strict_names=True)
    check_overrides(overrides)
    data = resolve_keys(names, data, "input data", strict_names=False)
    declared = {vi.name: _dims(vi) for vi in inputs}
    return overrides, bind_input_shapes(declared, overrides, data)


def check_overrides(overrides: Mapping[str, tuple]) -> None:
    for name, shape in overrides.items():
        if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                   for d in shape):
            raise UsageError(f"--input-shape for '{name}' must be positive integers, got {shape}")


def input_shape(value_info, overrides: Mapping[str, tuple],
                bound: Mapping[str, tuple]) -> tuple[int, ...]:
    """The static shape of a tensor input (its element type is io_types.io_dtype's)."""
    name = value_info.name
    declared = _dims(value_info)
    if name in overrides:
        given = tuple(int(d) for d in overrides[name])
        if declared is not None:
            if len(given) != len(declared):
                raise ShapeError(f"--input-shape gives '{name}' rank {len(given)}, but the model "
                                 f"declares rank {len(declared)} ({_spell(declared)})")
            clash = [i for i, (g, d) in enumerate(zip(given, declared)) if isinstance(d, int)
                     and g != d]
            if clash:
                raise ShapeError(f"--input-shape gives '{name}' shape {_spell(given)}, but the "
                                 f"model fixes it to {_spell(declared)}")
        return given
    if declared is None:
        raise ShapeError(f"graph input '{name}' has no declared shape",
                         hint=f"give it with --input-shape {name}=1x3x224x224 (your sizes)")
    dims = list(bound.get(name, declared))
    if dims and not isinstance(dims[0], int):
        dims[0] = 1  # the batch
    unknown = [i for i, d in enumerate(dims) if not isinstance(d, int)]
    if unknown:
        example = "x".join(str(d) if isinstance(d, int) else "N" for d in dims)
        raise ShapeError(f"graph input '{name}' has unknown dimension(s) at axis "
                         f"{', '.join(map(str, unknown))} (shape {_spell(declared)})",
                         hint=f"feed data of that shape (run --input {name}=x.npy), or give "
                              f"it with --input-shape {name}={example}, replacing each N by "
                              "a size")
    return tuple(dims)

