"""Which lifetimes overlap: a sweep over start steps instead of every pair.

Big graphs have thousands of buffers but only a few live at any step, so the
pairs that overlap in time are few; enumerating them by a sweep costs
``O(n log n + pairs)`` where testing every pair costs ``O(n^2)``.
"""

from __future__ import annotations

from collections.abc import Sequence


def overlapping_pairs(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every ``(i, j)``, ``i < j``, whose inclusive step ranges ``spans[i]`` and
    ``spans[j]`` share a step, in increasing order."""
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    active: list[int] = []  # started earlier and still live at the current start
    pairs: list[tuple[int, int]] = []
    for i in order:
        start = spans[i][0]
        active = [a for a in active if spans[a][1] >= start]
        pairs.extend((a, i) if a < i else (i, a) for a in active)
        if spans[i][1] >= start:
            active.append(i)
    pairs.sort()
    return pairs
