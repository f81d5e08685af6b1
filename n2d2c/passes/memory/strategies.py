"""Placement strategies, registered by name.

A heuristic is an *order* of the blocks followed by first fit.  Ties are
broken by (first step, block name), never by container order, so the same
problem always gives the same offsets.  N2D2 orders its memory spaces with a
stable sort over creation order, which (first step, name) mirrors.

N2D2's own names: ``None``, ``OptimizeMaxLifetimeMinSizeFirst``,
``OptimizeMaxLifetimeMaxSizeFirst`` (N2D2's default) and
``OptimizeMaxHoleMaxLifetimeFirst``.  The two ``MinLifetime`` variants are
n2d2c additions with the same naming scheme.  Lifetime is ``end - start``.
"""

from __future__ import annotations

from collections.abc import Callable

from .bound import step_bound
from .layout import Layout
from .placement import arena_of, first_fit, stack

Roots = list[int]


def _tie(layout: Layout, b: int) -> tuple[int, str]:
    return layout.blocks[b].start, layout.blocks[b].name


def _lifetime(layout: Layout, b: int) -> int:
    return layout.blocks[b].end - layout.blocks[b].start


def _ordered(key: Callable[[Layout, int], tuple]) -> Callable[[Layout], Roots]:
    def run(layout: Layout) -> Roots:
        order = sorted(range(len(layout.blocks)), key=lambda b: key(layout, b) + _tie(layout, b))
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

    def emit(b: int) -> None:
        if b in seen:
            return
        seen.add(b)  # marked before recursing: cycles of wraps terminate
        for out in outputs.get(b, ()):
            emit(out)
        result.append(b)

    for b in order:
        emit(b)
    return result


def _none(layout: Layout) -> Roots:
    return stack(layout, sorted(range(len(layout.blocks)), key=lambda b: _tie(layout, b)))


def _peak(layout: Layout, b: int) -> int:
    """Largest live-byte count over the block's lifetime (its "hole" to fill)."""
    block = layout.blocks[b]
    steps = sorted({m.start for blk in layout.blocks for m in blk.members
                    if block.start <= m.start <= block.end} | {block.start})
    return max(step_bound(layout, t) for t in steps)


def _conflicts(layout: Layout, b: int) -> int:
    return sum(1 for pair in layout.forbidden if b in pair)


HEURISTICS: dict[str, Callable[[Layout], Roots]] = {
    "None": _none,
    "OptimizeMaxLifetimeMinSizeFirst":
        _ordered(lambda l, b: (-_lifetime(l, b), l.blocks[b].extent)),
    "OptimizeMaxLifetimeMaxSizeFirst":
        _ordered(lambda l, b: (-_lifetime(l, b), -l.blocks[b].extent)),
    "OptimizeMinLifetimeMinSizeFirst":
        _ordered(lambda l, b: (_lifetime(l, b), l.blocks[b].extent)),
    "OptimizeMinLifetimeMaxSizeFirst":
        _ordered(lambda l, b: (_lifetime(l, b), -l.blocks[b].extent)),
    # Our reading of N2D2's "max hole": blocks spanning the busiest steps first.
    "OptimizeMaxHoleMaxLifetimeFirst":
        _ordered(lambda l, b: (-_peak(l, b), -_lifetime(l, b))),
    "greedy-by-size": _ordered(lambda l, b: (-l.blocks[b].extent,)),
    "greedy-by-conflicts": _ordered(lambda l, b: (-_conflicts(l, b), -l.blocks[b].extent)),
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
