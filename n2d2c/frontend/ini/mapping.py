"""N2D2 channel mappings: which input channels feed which outputs of a Conv/Pool.

A mapping is a boolean matrix ``[input channels, outputs]``, built per input
section (``Input=a,b`` gives one block of rows per input), following N2D2's
documented options:

* ``Mapping.NbGroups`` / ``Mapping.ChannelsPerGroup``: grouped connections
  (depthwise when one channel per group); outputs are spread over the groups.
* ``Mapping(<input>)=0 1 ...``: a hand-written matrix, one row per input channel
  and one column per output.
* ``Mapping.Size/SizeX/SizeY/Stride/StrideX/StrideY/Offset/OffsetX/OffsetY/
  NbIterations`` (and the same under ``Mapping(<input>).``): a pattern of
  ``SizeX`` outputs x ``SizeY`` channels stamped ``NbIterations`` times (0: as
  many as there are outputs or channels), moving ``StrideX`` outputs and
  ``StrideY`` channels each time, wrapping around.  ``Mapping.Size=1`` alone is
  the one-to-one mapping.
* nothing: every channel feeds every output.  (Pool layers are the exception:
  n2d2c takes one-to-one, the only connection N2D2's CUDA pooling supports.)

The stimuli provider is called ``env`` in ``Mapping(env)`` whatever its section
name; ``Mapping(sp)`` is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ...errors import ResourceLimitError
from .props import LayerProps

#: at most this many (channel, output) cells in one mapping matrix
MAX_MAPPING_CELLS = 1 << 28

_PATTERN_KEYS = ("Size", "SizeX", "SizeY", "Stride", "StrideX", "StrideY", "Offset",
                 "OffsetX", "OffsetY", "NbIterations")


@dataclass
class Pattern:
    size_x: int = 1
    size_y: int = 1
    stride_x: int = 1
    stride_y: int = 1
    offset_x: int = 0
    offset_y: int = 0
    iterations: int = 0


def _pattern(props: LayerProps, prefix: str, default: Pattern) -> Pattern:
    p = Pattern(**vars(default))
    if f"{prefix}.Size" in props:
        p.size_x = p.size_y = props.positive(f"{prefix}.Size", zero_ok=True)
    else:
        p.size_x = props.positive(f"{prefix}.SizeX", p.size_x, zero_ok=True)
        p.size_y = props.positive(f"{prefix}.SizeY", p.size_y, zero_ok=True)
    if f"{prefix}.Stride" in props:
        p.stride_x = p.stride_y = props.positive(f"{prefix}.Stride", zero_ok=True)
    else:
        p.stride_x = props.positive(f"{prefix}.StrideX", p.stride_x, zero_ok=True)
        p.stride_y = props.positive(f"{prefix}.StrideY", p.stride_y, zero_ok=True)
    if f"{prefix}.Offset" in props:
        p.offset_x = p.offset_y = props.positive(f"{prefix}.Offset", zero_ok=True)
    else:
        p.offset_x = props.positive(f"{prefix}.OffsetX", p.offset_x, zero_ok=True)
        p.offset_y = props.positive(f"{prefix}.OffsetY", p.offset_y, zero_ok=True)
    p.iterations = props.positive(f"{prefix}.NbIterations", p.iterations, zero_ok=True)
    return p


def _aliases(parent: str, stimuli: str) -> list[str]:
    return ["env", stimuli] if parent == stimuli else [parent]


def mapping_matrix(props: LayerProps, parents: Sequence[tuple[str, int]], nb_outputs: int,
                   *, stimuli: str, default_one_to_one: bool = False) -> np.ndarray:
    """``[sum of parent channels, nb_outputs]`` boolean connection matrix."""
    cells = sum(c for _, c in parents) * nb_outputs
    if cells > MAX_MAPPING_CELLS:
        raise ResourceLimitError(
            f"[{props.section}]: {sum(c for _, c in parents)} input channels x {nb_outputs} "
            f"outputs exceed the limit of {MAX_MAPPING_CELLS} channel connections",
            location=props.where("NbOutputs"))
    groups_key = "Mapping.NbGroups" in props
    per_group_key = "Mapping.ChannelsPerGroup" in props
    if groups_key and per_group_key:
        raise props.error("Mapping.ChannelsPerGroup",
                          "Mapping.NbGroups and Mapping.ChannelsPerGroup are mutually exclusive")
    default = _pattern(props, "Mapping", Pattern())
    blocks = []
    for parent, channels in parents:
        names = _aliases(parent, stimuli)
        block = np.zeros((channels, nb_outputs), dtype=bool)
        if groups_key or per_group_key:
            if groups_key:
                groups = props.positive("Mapping.NbGroups")
            else:
                per_group = props.positive("Mapping.ChannelsPerGroup")
                if channels % per_group:
                    raise props.error("Mapping.ChannelsPerGroup",
                                      f"{per_group} does not divide the {channels} channels of "
                                      f"[{parent}]")
                groups = channels // per_group
            if channels % groups or groups > nb_outputs:
                raise props.error("Mapping.NbGroups" if groups_key else "Mapping.ChannelsPerGroup",
                                  f"{groups} groups do not fit {channels} input channels and "
                                  f"{nb_outputs} outputs")
            per_group = channels // groups
            out_offset = 0
            for g in range(groups):
                size = (nb_outputs - out_offset) // (groups - g)
                block[g * per_group:(g + 1) * per_group, out_offset:out_offset + size] = True
                out_offset += size
        elif any(f"Mapping({n})" in props for n in names):
            key = next(f"Mapping({n})" for n in names if f"Mapping({n})" in props)
            values = props.list(key, item=int)
            if len(values) != channels * nb_outputs or any(v not in (0, 1) for v in values):
                raise props.error(key, f"expects {channels} rows (channels of [{parent}]) of "
                                       f"{nb_outputs} 0/1 values (outputs), got {len(values)} "
                                       "values")
            block = np.array(values, dtype=bool).reshape(channels, nb_outputs)
        else:
            prefixes = [f"Mapping({n})" for n in names]
            own = next((p for p in prefixes if any(f"{p}.{k}" in props for k in _PATTERN_KEYS)),
                       None)
            has_default = any(f"Mapping.{k}" in props for k in _PATTERN_KEYS)
            if own is None and not has_default:
                if default_one_to_one:
                    block = None  # filled below, after the blocks are stacked
                else:
                    block[:] = True
            else:
                p = _pattern(props, own, default) if own else default
                iterations = p.iterations or max(nb_outputs, channels)
                # Positions wrap around, so larger sizes and more iterations
                # than this only repeat cells already set.
                iterations = min(iterations, nb_outputs * channels)
                size_x = min(p.size_x or nb_outputs, nb_outputs)
                size_y = min(p.size_y or channels, channels)
                if channels and nb_outputs:
                    xs = np.arange(size_x)
                    ys = np.arange(size_y)
                    for i in range(iterations):
                        x = (p.offset_x + i * p.stride_x + xs) % nb_outputs
                        y = (p.offset_y + i * p.stride_y + ys) % channels
                        block[np.ix_(y, x)] = True
        blocks.append(block)
    if any(b is None for b in blocks):
        total = sum(c for _, c in parents)
        if total != nb_outputs:
            raise props.error("NbOutputs", f"is {nb_outputs}, but the inputs have {total} "
                                           "channels; give a Mapping to say which channels "
                                           "feed which outputs")
        return np.eye(total, dtype=bool)
    return np.concatenate(blocks, axis=0) if blocks else np.zeros((0, nb_outputs), bool)


def group_count(matrix: np.ndarray) -> int | None:
    """``g`` when ``matrix`` is exactly a grouped connection with ``g`` equal groups."""
    channels, outputs = matrix.shape
    if matrix.all():
        return 1
    per_output = matrix.sum(axis=0)
    if channels == 0 or outputs == 0 or per_output[0] == 0 or channels % per_output[0]:
        return None
    groups = channels // int(per_output[0])
    if outputs % groups:
        return None
    ideal = np.zeros_like(matrix)
    cg, og = channels // groups, outputs // groups
    for g in range(groups):
        ideal[g * cg:(g + 1) * cg, g * og:(g + 1) * og] = True
    return groups if np.array_equal(ideal, matrix) else None
