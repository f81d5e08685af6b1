"""Planner options, named after N2D2's export parameters."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from .strategies import STRATEGIES


@dataclass(frozen=True)
class MemoryOptions:
    """N2D2 export memory options (CamelCase names kept so params files map 1:1).

    * ``IncludeInputInBuffer``: graph inputs (``start == -1``) live in the
      arena; when off they get their own memory and no offset.
    * ``OptimizeBufferMemory``: allow in-place element-wise ops and wrapping.
    * ``OptimizeNoBranchConcat``: let Concat inputs be written into their slice.
    * ``MemoryAlignment``: every offset is a multiple of this (combined with
      the problem's own alignment by least common multiple).
    * ``MemoryManagerStrategy``: a name from ``STRATEGIES``.  The default, ``best``,
      runs every heuristic and keeps the smallest arena (deterministic, and fast
      on big graphs); N2D2's own default, ``OptimizeMaxLifetimeMaxSizeFirst``,
      is 4-24 % larger on some networks (benchmarks/RESULTS.md).
    * ``exact_time_limit``: n2d2c extension, CP-SAT budget of the ``exact``
      strategy in deterministic seconds (about wall seconds, but reproducible).
    """

    IncludeInputInBuffer: bool = True
    OptimizeBufferMemory: bool = True
    OptimizeNoBranchConcat: bool = True
    MemoryAlignment: int = 1
    MemoryManagerStrategy: str = "best"
    exact_time_limit: float = 10.0

    def __post_init__(self) -> None:
        for flag in ("IncludeInputInBuffer", "OptimizeBufferMemory", "OptimizeNoBranchConcat"):
            if not isinstance(getattr(self, flag), bool):
                raise UsageError(f"{flag} must be a bool, got {getattr(self, flag)!r}")
        align = self.MemoryAlignment
        if not isinstance(align, int) or isinstance(align, bool) or align < 1:
            raise UsageError(f"MemoryAlignment must be an integer >= 1, got {align!r}")
        if self.MemoryManagerStrategy not in STRATEGIES:
            raise UsageError(f"unknown MemoryManagerStrategy {self.MemoryManagerStrategy!r}",
                             hint="one of: " + ", ".join(STRATEGIES))
        limit = self.exact_time_limit
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
            raise UsageError(f"exact_time_limit must be a positive number, got {limit!r}")
