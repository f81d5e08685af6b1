"""Placement primitives shared by the heuristics: first fit and stacking.

A placement is ``roots[i]``: the offset of block ``i``'s root.  Member offsets
follow from the block deltas (``member_offsets``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .layout import Layout, align_up


def first_fit(layout: Layout, order: Iterable[int]) -> list[int]:
    """Place blocks in ``order``, each at the lowest aligned root offset that
    avoids every forbidden interval against the blocks already placed.

    This is N2D2's "lowest address where it fits among the buffers live at the
    same time"; it is also TFLite's greedy-by-size when ``order`` is by size.
    """
    n = len(layout.blocks)
    neighbours: list[list[tuple[int, tuple[tuple[int, int], ...], int]]] = [[] for _ in range(n)]
    for (i, j), spans in layout.forbidden.items():
        neighbours[j].append((i, spans, +1))  # root_j in root_i + (lo, hi)
        neighbours[i].append((j, spans, -1))  # root_i in root_j - (lo, hi)
    roots: list[int | None] = [None] * n
    for b in order:
        blocked = []
        for other, spans, sign in neighbours[b]:
            base = roots[other]
            if base is None:
                continue
            for lo, hi in spans:
                blocked.append((base + lo, base + hi) if sign > 0 else (base - hi, base - lo))
        roots[b] = lowest_free(blocked, layout.alignment)
    return roots  # type: ignore[return-value]


def lowest_free(blocked: list[tuple[int, int]], alignment: int) -> int:
    """Smallest aligned ``x >= 0`` strictly outside every open interval (lo, hi)."""
    x = 0
    for lo, hi in sorted(blocked):
        if lo >= x:
            break  # sorted by lo: no later interval can contain x either
        if x < hi:
            x = align_up(hi, alignment)
    return x


def stack(layout: Layout, order: Iterable[int]) -> list[int]:
    """No reuse at all: blocks one above the other (N2D2's ``None``)."""
    roots = [0] * len(layout.blocks)
    top = 0
    for b in order:
        roots[b] = align_up(top, layout.alignment)
        top = roots[b] + layout.blocks[b].extent
    return roots


def member_offsets(layout: Layout, roots: list[int]) -> dict[str, int]:
    offsets = {}
    for block, root in zip(layout.blocks, roots):
        for m in block.members:
            offsets[m.name] = root + m.delta
    return dict(sorted(offsets.items()))


def arena_of(layout: Layout, roots: list[int]) -> int:
    return max((root + block.extent for block, root in zip(layout.blocks, roots)), default=0)
