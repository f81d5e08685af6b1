"""Static input shapes from what the user gives: ``--input-shape`` and the data itself.

IR shapes are static, but exported models declare inputs such as ``[batch, 3, h, w]``.
A user who runs the model on ``x.npy`` (or calibrates / evaluates it on a data set)
has already said what the sizes are, so the symbolic dimensions are bound from the
data instead of asking for ``--input-shape`` again.

Two kinds of entries, keyed by input name, by position (``int``) or by ``""`` (the
model's only input):

* ``input_shapes``: explicit full shapes (``--input-shape``); they win.
* ``data_shapes``: :class:`DataShape` of the arrays that will be fed.  A data set
  (``samples=True``) is ``[N, ...]`` samples: its first axis is a sample count, not
  the batch, so only the other axes bind.  Entries whose rank differs from the
  declared one are left alone for data sets (the feeder may reshape flat samples),
  and are an error for a tensor that is fed as it is (``run --input``).

A symbol that appears in several inputs (``batch``, ``seq``) takes one value: a
mismatch is an error naming both sources, and an input that got no data takes the
value bound by another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import ShapeError, UsageError

Dims = Sequence["int | str | None"]  # declared: size, symbol name, or unknown (None)


@dataclass(frozen=True)
class DataShape:
    """The shape of an array the user feeds, and where it came from (for messages)."""

    shape: tuple[int, ...]
    origin: str
    samples: bool = False  # a data set [N, ...]: axis 0 counts samples


def resolve_keys(names: Sequence[str], entries: Mapping, what: str, *,
                 strict_names: bool) -> dict[str, object]:
    """``entries`` keyed by input name: ``""`` is the only input, an int its position.

    ``strict_names``: an unknown name is an error (``--input-shape``); data sets may
    hold other arrays (labels), which are ignored.
    """
    out: dict[str, object] = {}
    for key, value in entries.items():
        if key == "":
            if len(names) != 1:
                raise UsageError(f"{what} without a name applies to a one-input model; this one "
                                 f"has {len(names)} inputs ({', '.join(names) or 'none'})",
                                 hint="name the input: NAME=DxDx...")
            name = names[0]
        elif isinstance(key, int):
            if not 0 <= key < len(names):
                raise UsageError(f"{what} #{key + 1} has no model input to go to; the model has "
                                 f"{len(names)} input(s): {', '.join(names) or 'none'}")
            name = names[key]
        elif key in names:
            name = key
        elif strict_names:
            raise UsageError(f"{what} names '{key}', which is not a model input; "
                             f"the inputs are: {', '.join(names) or 'none'}")
        else:
            continue
        if name in out:
            raise UsageError(f"{what} gives input '{name}' twice")
        out[name] = value
    return out


def spell(dims) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _from_data(name: str, declared: Dims, data: DataShape) -> tuple | None:
    """The dims of ``declared`` that ``data`` binds (None: the data says nothing)."""
    shape = tuple(data.shape)
    if len(shape) != len(declared):
        if data.samples:
            return None
        raise ShapeError(f"input '{name}' from {data.origin} has shape {list(shape)} (rank "
                         f"{len(shape)}), but the model declares rank {len(declared)} "
                         f"{spell(declared)}")
    bound = list(declared)
    for axis, (got, want) in enumerate(zip(shape, declared)):
        if data.samples and axis == 0:
            continue  # a sample count, not the batch size
        if isinstance(want, int):
            if got != want:
                raise ShapeError(f"input '{name}' from {data.origin} has shape {list(shape)}"
                                 f"{' (samples first)' if data.samples else ''}, but the model "
                                 f"expects {spell(declared)} (axis {axis} is {want})")
        else:
            bound[axis] = int(got)
    return tuple(bound)


def bind_input_shapes(declared: Mapping[str, Dims | None], overrides: Mapping[str, tuple],
                      data: Mapping[str, DataShape]) -> dict[str, tuple]:
    """Input name -> dims with every symbol the user's shapes and data determine.

    ``overrides`` and ``data`` are keyed by input name (see :func:`resolve_keys`).
    The result still holds symbols where nothing bound them; the caller applies its
    defaults (a symbolic batch is 1) and errors.
    """
    symbols: dict[str, tuple[int, str]] = {}  # symbol -> (size, "input 'x' (from ...)")
    result: dict[str, tuple] = {}
    for name, dims in declared.items():
        if dims is None:
            continue
        if name in overrides:
            given, origin = tuple(overrides[name]), "--input-shape"
        elif name in data:
            given, origin = _from_data(name, dims, data[name]), data[name].origin
            if given is None:
                continue
        else:
            continue
        result[name] = given
        if len(given) != len(dims):
            continue  # the caller reports the rank mismatch of --input-shape
        for want, got in zip(dims, given):
            if isinstance(want, str) and isinstance(got, int):
                seen = symbols.setdefault(want, (got, f"input '{name}' (from {origin})"))
                if seen[0] != got:
                    raise ShapeError(f"symbolic dimension '{want}' is {seen[0]} for {seen[1]} "
                                     f"but {got} for input '{name}' (from {origin})",
                                     hint="inputs that share a dimension name must agree")
    for name, dims in declared.items():
        if dims is None or name in overrides:
            continue
        current = list(result.get(name, dims))
        filled = [symbols[d][0] if isinstance(d, str) and d in symbols else d for d in current]
        if filled != list(dims) or name in result:
            result[name] = tuple(filled)
    return result


INI_INPUT_KEYS = ("", 0, "sp", "env")  # an N2D2 network has one input: its stimuli provider


def ini_input_size(overrides: Mapping, data: Mapping
                   ) -> tuple[int | None, tuple[int, int, int] | None, tuple[int, int, int] | None]:
    """(batch, size, fallback size) of an INI network's input from NCHW shapes.

    N2D2 sizes are (width, height, channels).  ``--input-shape`` replaces the
    stimuli provider's size; data only stands in for a missing ``[sp]`` section,
    since the file's own size is what the network was trained at.
    """
    def pick(entries: Mapping, what: str):
        extra = [k for k in entries if k not in INI_INPUT_KEYS]
        if extra or len(entries) > 1:
            raise UsageError(f"{what} for an N2D2 INI network names its one input (sp or env) "
                             f"or none, got {', '.join(map(repr, entries))}")
        return next(iter(entries.values()), None)

    shape = pick(overrides, "--input-shape")
    if shape is not None:
        if len(shape) != 4:
            raise UsageError(f"--input-shape for an N2D2 INI network is NxCxHxW, got "
                             f"{'x'.join(map(str, shape))}")
        n, c, h, w = shape
        return n, (w, h, c), None
    fed = pick(data, "input data")
    if fed is not None and len(fed.shape) == 4:
        _, c, h, w = fed.shape
        return None, None, (w, h, c)
    return None, None, None
