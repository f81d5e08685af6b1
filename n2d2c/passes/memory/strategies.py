"""Placement strategies, registered by name.

A heuristic is an *order* of the blocks followed by first fit.  Ties are
broken by (first step, block name), never by container order, so the same
problem always gives the same offsets.  N2D2 orders its memory spaces with a
stable sort over creation order, which (first step, name) mirrors.

N2D2's own names: ``None``, ``OptimizeMaxLifetimeMinSizeFirst``,
``OptimizeMaxLifetimeMaxSizeFirst`` (N2D2's default) and
``OptimizeMaxHoleMaxLifetimeFirst``.  The two ``MinLifetime`` variants are
n2d2c additions with the same naming scheme.  Lifetime is ``end - start``.
n2d2c's default is ``best``: every heuristic, the smallest arena wins.

Every key is computed once per layout and the bounds in one sweep
(``bound.step_bounds``), so ``best`` stays near-linear on graphs of thousands
of buffers.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable

from .bound import step_bounds
from .layout import Layout
from .placement import arena_of, first_fit, stack

Roots = list[int]
BlockKeys = Callable[[Layout], list[tuple]]


def _tie(layout: Layout, b: int) -> tuple[int, str]:
    return layout.blocks[b].start, layout.blocks[b].name


def _ordered(keys: BlockKeys) -> Callable[[Layout], Roots]:
    """First fit in the order of ``keys(layout)[b]`` (one key per block, computed once)."""
    def run(layout: Layout) -> Roots:
        key = keys(layout)
        order = sorted(range(len(layout.blocks)), key=lambda b: key[b] + _tie(layout, b))
        return first_fit(layout, _outputs_first(layout, order))
    return run


def _outputs_first(layout: Layout, order: list[int]) -> list[int]:
    """Move each wrap output just before its input (n2d2c addition).

    First fit puts a block as low as it can; an input placed first at offset 0
    leaves its wrapping output no room below it.  Placing the output first and
    the input ``margin`` above it is what makes the overlap happen.
    """
    if not layout.wraps:
        return order
    index = {m.name: b for b, block in enumerate(layout.blocks) for m in block.members}
    outputs: dict[int, list[int]] = {}
    for w in sorted(layout.wraps, key=lambda w: w.output):
        outputs.setdefault(index[w.input], []).append(index[w.output])
    result: list[int] = []
    seen: set[int] = set()
    for first in order:  # depth-first, post-order; a loop, since chains of wraps are long
        if first in seen:
            continue
        seen.add(first)  # marked when first reached: cycles of wraps terminate
        stack = [(first, iter(outputs.get(first, ())))]
        while stack:
            b, pending = stack[-1]
            out = next((o for o in pending if o not in seen), None)
            if out is None:
                stack.pop()
                result.append(b)
            else:
                seen.add(out)
                stack.append((out, iter(outputs.get(out, ()))))
    return result


def _none(layout: Layout) -> Roots:
    return stack(layout, sorted(range(len(layout.blocks)), key=lambda b: _tie(layout, b)))


def _lifetimes(layout: Layout) -> list[int]:
    return [block.end - block.start for block in layout.blocks]


def _extents(layout: Layout) -> list[int]:
    return [block.extent for block in layout.blocks]


def _peaks(layout: Layout) -> list[int]:
    """Per block, the largest live-byte count over its lifetime (its "hole" to fill).

    The live set only grows when a member starts, so those steps suffice."""
    starts = sorted({m.start for block in layout.blocks for m in block.members})
    bound = step_bounds(layout, starts)
    return [max(bound[t] for t in starts[bisect_left(starts, block.start):
                                         bisect_right(starts, block.end)])
            for block in layout.blocks]


def _conflicts(layout: Layout) -> list[int]:
    """Per block, how many other blocks it may collide with."""
    count = [0] * len(layout.blocks)
    for i, j in layout.forbidden:
        count[i] += 1
        count[j] += 1
    return count


def _by(*columns: Callable[[Layout], list[int]], signs: tuple[int, ...]) -> BlockKeys:
    """Keys made of per-block ``columns``, each ascending (+1) or descending (-1)."""
    def keys(layout: Layout) -> list[tuple]:
        values = [column(layout) for column in columns]
        return [tuple(sign * v[b] for sign, v in zip(signs, values))
                for b in range(len(layout.blocks))]
    return keys


HEURISTICS: dict[str, Callable[[Layout], Roots]] = {
    "None": _none,
    "OptimizeMaxLifetimeMinSizeFirst": _ordered(_by(_lifetimes, _extents, signs=(-1, 1))),
    "OptimizeMaxLifetimeMaxSizeFirst": _ordered(_by(_lifetimes, _extents, signs=(-1, -1))),
    "OptimizeMinLifetimeMinSizeFirst": _ordered(_by(_lifetimes, _extents, signs=(1, 1))),
    "OptimizeMinLifetimeMaxSizeFirst": _ordered(_by(_lifetimes, _extents, signs=(1, -1))),
    # Our reading of N2D2's "max hole": blocks spanning the busiest steps first.
    "OptimizeMaxHoleMaxLifetimeFirst": _ordered(_by(_peaks, _lifetimes, signs=(-1, -1))),
    "greedy-by-size": _ordered(_by(_extents, signs=(-1,))),
    "greedy-by-conflicts": _ordered(_by(_conflicts, _extents, signs=(-1, -1))),
}

# Every name a user may ask for; "best" and "exact" are handled by the planner.
STRATEGIES: tuple[str, ...] = tuple(HEURISTICS) + ("best", "exact")


def run_best(layout: Layout) -> tuple[str, Roots]:
    """All heuristics; the smallest arena wins, earlier registry entries on ties."""
    best_name, best_roots, best_arena = "", [], None
    for name, heuristic in HEURISTICS.items():
        roots = heuristic(layout)
        arena = arena_of(layout, roots)
        if best_arena is None or arena < best_arena:
            best_name, best_roots, best_arena = name, roots, arena
    return best_name, best_roots
