"""What a kernel's memory access order allows the planner to share (see memory.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .views import Storage


@dataclass(frozen=True)
class KernelMemory:
    """How a kernel call walks its operands, as far as buffer sharing cares.

    * ``rows``: output rows (H of an NHWC batch-1 tensor) are written in
      increasing order, each while reading only the input rows of its window,
      and no thread works on a later row before the earlier ones are written
      (templates render a row-ordered variant when the plan overlaps buffers);
    * ``elementwise``: each output element depends only on the input elements
      at the same index, read before it is written;
    * ``staged``: the whole input is first copied (row by row, zero padding
      ``pads``) into this scratch buffer and only the scratch is read afterwards.
    """

    rows: bool = False
    elementwise: bool = False
    staged: Storage | None = None
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def may_alias(self) -> bool:
        return self.rows or self.elementwise or self.staged is not None


NONE = KernelMemory()
ROWS = KernelMemory(rows=True)
ELEMENTWISE = KernelMemory(elementwise=True)

__all__ = ["ELEMENTWISE", "KernelMemory", "NONE", "ROWS"]
