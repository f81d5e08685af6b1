"""Turn a problem + options into what the strategies place: blocks and wraps.

In-place and concat relations fix a buffer's offset relative to another one,
so related buffers are merged into a *block*: members at fixed byte deltas
from the block's root, placed as a unit.  Wrap relations do not fix an offset
(the output may sit anywhere at or below ``input - margin``) so they stay
between blocks and only relax the pairwise no-overlap rule.

Every constraint between two blocks reduces to a set of forbidden values for
the difference of their root offsets (``forbidden`` below); heuristics, the
exact solver and the lower bound all read that one representation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .intervals import overlapping_pairs
from .problem import Buffer, MemoryProblem, Sharing


@dataclass(frozen=True)
class Member:
    name: str
    delta: int
    size: int
    start: int
    end: int


@dataclass(frozen=True)
class Block:
    """Buffers placed together; ``name`` is the first member name (sorting key)."""

    name: str
    members: tuple[Member, ...]
    start: int
    end: int
    extent: int


@dataclass(frozen=True)
class WrapPair:
    output: str
    input: str
    margin: int  # already rounded up to the alignment


@dataclass(frozen=True)
class Layout:
    blocks: tuple[Block, ...]
    wraps: tuple[WrapPair, ...]
    alignment: int
    external: tuple[str, ...]
    shared: tuple[Sharing, ...]
    # (i, j) with i < j -> open intervals (lo, hi): root_j - root_i may not be
    # strictly inside any of them.  Only pairs that can collide are present.
    forbidden: dict[tuple[int, int], tuple[tuple[int, int], ...]]


def align_up(value: int, alignment: int) -> int:
    return -((-value) // alignment) * alignment


def _last_read_by(src: Buffer, out: Buffer) -> bool:
    """The op producing ``out`` is the last reader of ``src`` (and runs after it)."""
    return src.start < out.start == src.end


def _overlaps_in_time(a, b) -> bool:
    return a.start <= b.end and b.start <= a.end


class _Groups:
    """Union of buffers with fixed relative offsets (a tiny union-find)."""

    def __init__(self, buffers: list[Buffer]):
        self.of = {b.name: b.name for b in buffers}
        self.members = {b.name: {b.name: 0} for b in buffers}
        self.info = {b.name: b for b in buffers}

    def find(self, name: str) -> str:
        while self.of[name] != name:
            name = self.of[name]
        return name

    def try_tie(self, anchor: str, other: str, delta: int, alignment: int) -> bool:
        """Tie ``offset(other) = offset(anchor) + delta`` unless that makes two
        members collide (other than anchor/other themselves)."""
        ga, gb = self.find(anchor), self.find(other)
        if ga == gb:
            return False
        ma, mb = self.members[ga], self.members[gb]
        shift = ma[anchor] + delta - mb[other]
        if shift % alignment:
            return False
        for a_name, a_delta in ma.items():
            a = self.info[a_name]
            for b_name, b_delta in mb.items():
                b = self.info[b_name]
                if {a_name, b_name} == {anchor, other} or not _overlaps_in_time(a, b):
                    continue
                lo = max(a_delta, b_delta + shift)
                hi = min(a_delta + a.size, b_delta + shift + b.size)
                if lo < hi:
                    return False
        merged = dict(ma)
        merged.update({n: d + shift for n, d in mb.items()})
        low = min(merged.values())
        self.members[ga] = {n: d - low for n, d in merged.items()}
        del self.members[gb]
        self.of[gb] = ga
        return True


def build_layout(problem: MemoryProblem, options) -> Layout:
    """Decide which relations are used and build blocks + pair constraints.

    Relations are tried concat first (it removes a whole copy), then in-place,
    then wrap, each in buffer-name order, so the outcome never depends on the
    order of ``problem.buffers``.  An input buffer is overwritten by at most
    one in-place or wrap successor.
    """
    alignment = math.lcm(problem.alignment, options.MemoryAlignment)
    by_name = problem.by_name()
    external = tuple(sorted(b.name for b in problem.buffers
                            if b.is_graph_input and not options.IncludeInputInBuffer))
    arena = sorted((b for b in problem.buffers if b.name not in external), key=lambda b: b.name)
    inside = {b.name for b in arena}
    groups = _Groups(arena)
    shared: list[Sharing] = []
    consumed: set[str] = set()

    if options.OptimizeNoBranchConcat:
        for b in arena:
            if b.concat_into is None:
                continue
            concat, k = b.concat_into
            if concat in inside and b.end == by_name[concat].start and b.start < b.end \
                    and groups.try_tie(concat, b.name, k, alignment):
                shared.append(Sharing("concat", b.name, concat, k))

    wraps: list[WrapPair] = []
    if options.OptimizeBufferMemory:
        for b in arena:
            src = b.inplace_of
            if src is None or src not in inside or src in consumed:
                continue
            if _last_read_by(by_name[src], b) and groups.try_tie(src, b.name, 0, alignment):
                consumed.add(src)
                shared.append(Sharing("inplace", b.name, src, 0))
        for b in arena:
            src = b.wrap_of
            if src is None or src not in inside or src in consumed:
                continue
            margin = align_up(b.wrap.margin, alignment)
            if _last_read_by(by_name[src], b) and groups.find(src) != groups.find(b.name) \
                    and margin < b.size:
                consumed.add(src)
                wraps.append(WrapPair(b.name, src, margin))
                shared.append(Sharing("wrap", b.name, src, margin))

    blocks = []
    for root in sorted(groups.members, key=lambda g: min(groups.members[g])):
        items = sorted(groups.members[root].items(), key=lambda kv: (kv[1], kv[0]))
        members = tuple(Member(n, d, by_name[n].size, by_name[n].start, by_name[n].end)
                        for n, d in items)
        blocks.append(Block(min(m.name for m in members), members,
                            min(m.start for m in members), max(m.end for m in members),
                            max((m.delta + m.size for m in members), default=0)))
    blocks.sort(key=lambda blk: blk.name)
    shared.sort(key=lambda s: (s.buffer, s.kind))
    return Layout(tuple(blocks), tuple(wraps), alignment, external, tuple(shared),
                  _forbidden(blocks, wraps))


def _forbidden(blocks: list[Block], wraps: list[WrapPair]):
    """Forbidden open intervals for ``root_j - root_i`` of every block pair.

    Members p (of i) and q (of j) normally collide when
    ``offset(q) - offset(p)`` is in ``(-size(q), size(p))``.  For a wrap pair
    the output may also sit ``margin`` or more below the input, which shrinks
    the interval to ``(-margin, size(input))`` (q output) or
    ``(-size(q), margin)`` (p output).
    """
    wrap_margin = {(w.output, w.input): w.margin for w in wraps}
    result: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {}
    for i, j in overlapping_pairs([(b.start, b.end) for b in blocks]):
        bi, bj = blocks[i], blocks[j]
        spans = set()
        for p in bi.members:
            for q in bj.members:
                if p.size == 0 or q.size == 0 or not _overlaps_in_time(p, q):
                    continue
                lo, hi = -q.size, p.size
                if (q.name, p.name) in wrap_margin:
                    lo = -wrap_margin[q.name, p.name]
                elif (p.name, q.name) in wrap_margin:
                    hi = wrap_margin[p.name, q.name]
                if lo < hi:  # relative: offset(q) - offset(p) = D + dq - dp
                    spans.add((lo + p.delta - q.delta, hi + p.delta - q.delta))
        if spans:
            result[i, j] = tuple(sorted(spans))
    return result
