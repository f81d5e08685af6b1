"""Where activations live: one static arena, and a plan that places buffers in it.

The generated code addresses every activation as ``arena + offset``; it never
allocates.  The emitter describes each buffer it needs (size, the span of
steps during which it is live, and the sharing its kernels allow: see
``memory.py``) and asks a ``BufferPlan`` for its region.  The default plan is
the memory planner (``memory.PlannedBuffers``); the simple plans here ignore
the sharing relations.  Every placement is validated by the planner's
independent checker (``ArenaPlacement.check``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

from ...errors import InternalError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ...passes.memory import ConvWrap, MemoryPlan, MemoryProblem


@dataclass(frozen=True)
class BufferRequest:
    """One activation buffer: ``nbytes`` live from step ``first`` to ``last`` (inclusive).

    Steps count kernel calls (see ``memory.py``): the input load is step -1 and
    the output store the last step, so a buffer read by the output store
    outlives every other.  ``inplace_of`` / ``wrap`` are the sharing the
    kernel producing this buffer allows (``n2d2c.passes.memory.Buffer``);
    ``align`` is its element size (offsets must be multiples of it).
    """

    name: str
    nbytes: int
    first: int
    last: int
    inplace_of: str | None = None
    wrap: "ConvWrap | None" = None
    align: int = 1

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
    """Regions of the arena buffers; ``external`` buffers (name -> bytes) get memory of their
    own (graph inputs kept out of the arena).  ``plan``/``problem`` are the planner's, when
    the memory planner made the placement."""

    regions: Mapping[str, Region]
    nbytes: int          # arena size, a multiple of ``alignment``
    alignment: int
    external: Mapping[str, int] = field(default_factory=dict)
    plan: "MemoryPlan | None" = None
    problem: "MemoryProblem | None" = None

    def region(self, name: str) -> Region:
        return self.regions[name]

    def check(self, requests: Sequence[BufferRequest]) -> None:
        """Raise InternalError unless the placement is safe, as judged by the planner's
        independent checker: live buffers share bytes only through the relations of the
        requests, whose kernels allow it."""
        from ...passes.memory import MemoryPlan, PlanCheckError, check_plan
        from .memory import problem_of

        by_name = {r.name: r for r in requests}
        missing = sorted(set(by_name) - set(self.regions) - set(self.external))
        if missing:
            raise InternalError(f"buffer plan left out buffers {missing[:5]}")
        for name, region in self.regions.items():
            if region.offset % self.alignment or region.end > self.nbytes:
                raise InternalError(f"buffer plan put '{name}' at {region.offset}+"
                                    f"{region.nbytes}, outside the {self.nbytes}-byte arena "
                                    f"or off its {self.alignment}-byte alignment")
        problem = problem_of(requests, self.alignment)
        plan = MemoryPlan({n: r.offset for n, r in self.regions.items() if n in by_name},
                          self.nbytes, "check", 0, alignment=self.alignment,
                          external=tuple(sorted(self.external)))
        try:
            check_plan(problem, plan)
        except PlanCheckError as err:
            raise InternalError("buffer plan overlaps live buffers:\n  "
                                + "\n  ".join(err.violations)) from None


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
    """``spec`` is a BufferPlan, a plan name ('planner', 'reuse', 'separate'), MemoryOptions
    for the planner, or None (the planner with default options)."""
    from ...passes.memory import MemoryOptions
    from .memory import PlannedBuffers

    if spec is None or spec == "planner":
        return PlannedBuffers()
    if isinstance(spec, MemoryOptions):
        return PlannedBuffers(spec)
    if isinstance(spec, BufferPlan):
        return spec
    if isinstance(spec, str) and spec in PLANS:
        return PLANS[spec](alignment)
    raise UsageError(f"unknown buffer plan {spec!r}; available: "
                     f"{', '.join(sorted([*PLANS, 'planner']))}")


