"""Where activations live: one static arena, and a plan that places buffers in it.

The generated code addresses every activation as ``arena + offset``; it never
allocates.  The emitter describes each buffer it needs (size and the span of
layers during which it is live) and asks a ``BufferPlan`` for its region.  The
plans here are deliberately simple; a memory planner only has to implement
``BufferPlan.place`` to replace them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Mapping, Sequence

from ...errors import InternalError, UsageError


@dataclass(frozen=True)
class BufferRequest:
    """One activation buffer: ``nbytes`` live from layer ``first`` to ``last`` (inclusive).

    Layer indices count the input load as 0 and the output store as the last
    layer, so a buffer read by the output store outlives every other layer.
    """

    name: str
    nbytes: int
    first: int
    last: int

    def overlaps_in_time(self, other: "BufferRequest") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class Region:
    offset: int    # bytes from the start of the arena
    nbytes: int

    @property
    def end(self) -> int:
        return self.offset + self.nbytes


@dataclass(frozen=True)
class ArenaPlacement:
    regions: Mapping[str, Region]
    nbytes: int          # arena size, a multiple of ``alignment``
    alignment: int

    def region(self, name: str) -> Region:
        return self.regions[name]

    def check(self, requests: Sequence[BufferRequest]) -> None:
        """Raise InternalError if two buffers live at the same time share bytes."""
        by_name = {r.name: r for r in requests}
        missing = sorted(set(by_name) - set(self.regions))
        if missing:
            raise InternalError(f"buffer plan left out buffers {missing[:5]}")
        for name, region in self.regions.items():
            if region.offset % self.alignment or region.end > self.nbytes:
                raise InternalError(f"buffer plan put '{name}' at {region.offset}+"
                                    f"{region.nbytes}, outside the {self.nbytes}-byte arena "
                                    f"or off its {self.alignment}-byte alignment")
        placed = sorted(requests, key=lambda r: (self.regions[r.name].offset, r.name))
        for i, a in enumerate(placed):
            ra = self.regions[a.name]
            for b in placed[i + 1:]:
                rb = self.regions[b.name]
                if rb.offset >= ra.end:
                    break
                if a.overlaps_in_time(b) and a.nbytes and b.nbytes:
                    raise InternalError(f"buffer plan overlaps live buffers '{a.name}' and "
                                        f"'{b.name}'")


def align_up(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


class BufferPlan(ABC):
    """Places activation buffers in one arena.  Subclass and implement ``place``."""

    name = ""

    def __init__(self, alignment: int = 64):
        self.alignment = alignment

    @abstractmethod
    def place(self, requests: Sequence[BufferRequest]) -> ArenaPlacement:
        ...


class SeparateBuffers(BufferPlan):
    """Each buffer gets its own aligned region (largest memory, simplest to debug)."""

    name = "separate"

    def place(self, requests):
        regions = {}
        offset = 0
        for r in requests:
            regions[r.name] = Region(offset, r.nbytes)
            offset = align_up(offset + r.nbytes, self.alignment)
        return ArenaPlacement(regions, max(offset, self.alignment), self.alignment)


class ReuseBuffers(BufferPlan):
    """Greedy reuse: largest buffers first, each at the lowest offset not live at the same time."""

    name = "reuse"

    def place(self, requests):
        order = sorted(requests, key=lambda r: (-r.nbytes, r.first, r.name))
        placed: list[tuple[BufferRequest, Region]] = []
        regions = {}
        for r in order:
            size = align_up(max(r.nbytes, 1), self.alignment)
            busy = sorted((reg.offset, reg.end) for other, reg in placed
                          if other.overlaps_in_time(r))
            offset = 0
            for start, end in busy:
                if offset + size <= start:
                    break
                offset = max(offset, align_up(end, self.alignment))
            region = Region(offset, r.nbytes)
            regions[r.name] = region
            placed.append((r, region))
        total = max((align_up(reg.end, self.alignment) for reg in regions.values()),
                    default=0)
        return ArenaPlacement(regions, max(total, self.alignment), self.alignment)


PLANS = {cls.name: cls for cls in (SeparateBuffers, ReuseBuffers)}


def make_plan(spec: "str | BufferPlan | None", alignment: int = 64) -> BufferPlan:
    """``spec`` is a BufferPlan, a plan name ('reuse', 'separate') or None (the default)."""
    if spec is None:
        return ReuseBuffers(alignment)
    if isinstance(spec, BufferPlan):
        return spec
    if isinstance(spec, str) and spec in PLANS:
        return PLANS[spec](alignment)
    raise UsageError(f"unknown buffer plan {spec!r}; available: {', '.join(sorted(PLANS))}")


