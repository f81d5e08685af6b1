"""Lower bounds on the arena size of any placement of a layout.

Per step ``t`` the bytes live at ``t`` are at least: for every block, the
union of its members live at ``t`` (in-place and concat bytes counted once),
minus, for every wrap pair at ``t``, the most the output can overlap its
input: ``min(size(in), size(out), size(out) - margin)``.

Alignment strengthening (steps without a wrap pair): what is live at ``t`` is
a set of disjoint *runs* (maximal contiguous pieces of a block), each starting
at an aligned address because every member offset is aligned.  Sorted by
address, each run is followed by the next one no earlier than the aligned end
of its own, so the arena is at least ``sum(align_up(len)) - max(align_up(len)
- len)``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from .layout import Layout, align_up


def _runs(block, t: int) -> list[int]:
    """Lengths of the contiguous pieces of ``block`` live at step ``t``."""
    spans = sorted((m.delta, m.delta + m.size) for m in block.members
                   if m.start <= t <= m.end and m.size > 0)
    runs: list[list[int]] = []
    for lo, hi in spans:
        if runs and lo <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    return [hi - lo for lo, hi in runs]


def step_bounds(layout: Layout, steps: Iterable[int]) -> dict[int, int]:
    """Lower bound on the arena implied by what is live at each of ``steps``.

    One pass over the blocks, each visiting only the asked steps inside its
    lifetime, so the cost is the size of the live sets, not blocks x steps.
    """
    order = sorted(set(steps))
    lengths: dict[int, list[int]] = {t: [] for t in order}
    for block in layout.blocks:
        for t in order[bisect_left(order, block.start):bisect_right(order, block.end)]:
            lengths[t].extend(_runs(block, t))
    members = {m.name: m for block in layout.blocks for m in block.members}
    overlap: dict[int, int] = {}
    for w in layout.wraps:
        out, inp = members[w.output], members[w.input]
        # wraps are only used at the input's last read, which is the output's first step
        overlap[out.start] = (overlap.get(out.start, 0)
                              + max(0, min(inp.size, out.size, out.size - w.margin)))
    return {t: _bound(lengths[t], overlap.get(t, 0), layout.alignment) for t in order}


def _bound(lengths: list[int], overlap: int, alignment: int) -> int:
    total = sum(lengths)
    if overlap or alignment == 1 or not lengths:
        return total - overlap
    padded = [align_up(n, alignment) for n in lengths]
    return max(total, sum(padded) - max(p - n for p, n in zip(padded, lengths)))


def step_bound(layout: Layout, t: int) -> int:
    """Lower bound on the arena implied by what is live at step ``t``."""
    return step_bounds(layout, [t])[t]


def lower_bound(layout: Layout) -> int:
    """Max over steps of ``step_bound``; ``0`` for an empty layout.

    Only steps where something starts or ends (or just ended) need checking:
    between them the live set does not change.
    """
    steps = set()
    for block in layout.blocks:
        for m in block.members:
            steps.update((m.start, m.end, m.end + 1))
    extents = [b.extent for b in layout.blocks]
    return max(list(step_bounds(layout, steps).values()) + extents + [0])
