"""How far below its input a conv/pool output may start ("wrapping").

Model (row-major, H-major layout: one *row* is ``W*C*elt`` contiguous bytes,
rows follow each other):

* the input X has ``in_rows`` rows of ``row_bytes_in`` bytes, the output Y has
  ``out_rows`` rows of ``row_bytes_out`` bytes;
* output row ``r`` is computed from the input rows of its window
  ``[r*stride - pad_top, r*stride - pad_top + kh - 1]`` clipped to the input;
* output rows are written in increasing order, and the bytes of row ``r`` are
  written while the window of row ``r`` is still being read.  So while row
  ``r`` is written, every input row that row ``r`` *or any later row* reads is
  still live and must not be overwritten.  Rows read only by earlier output
  rows are dead, and so are rows no window ever reads.

Convention: the *distance* ``d = start(X) - start(Y)`` (bytes; positive when
the output starts below the input).  ``conv_wrap_margin`` returns the margin
``m`` such that **every** ``d >= m`` is safe and ``d = m - 1`` is not, i.e. the
planner may place the output at ``start(Y) <= start(X) - m``.  Large ``d`` is
always safe (``d >= size(Y)`` means no overlap at all), so ``m <= size(Y)``.

Why this is the exact threshold: output row ``r`` overlaps live input row
``i`` iff ``r*Bo - (i+1)*Bi < d < (r+1)*Bo - i*Bi`` (``Bo``/``Bi`` the row
sizes).  The unsafe distances are the union of these open intervals, each at
least ``Bo + Bi >= 2`` wide, so the smallest ``m`` with ``[m, +inf)`` safe is
the largest right end ``(r+1)*Bo - i*Bi``, reached for the lowest live row.
"""

from __future__ import annotations

from ...errors import UsageError


def _window(r: int, in_rows: int, kh: int, stride: int, pad_top: int) -> tuple[int, int]:
    """Input rows [lo, hi] read by output row r (empty when lo > hi)."""
    top = r * stride - pad_top
    return max(0, top), min(in_rows - 1, top + kh - 1)


def conv_wrap_margin(in_rows: int, out_rows: int, row_bytes_in: int, row_bytes_out: int,
                     kh: int, stride: int, pad_top: int) -> int:
    """Minimal safe ``start(input) - start(output)`` in bytes (see module doc)."""
    for label, value, low in (("in_rows", in_rows, 1), ("out_rows", out_rows, 1),
                              ("row_bytes_in", row_bytes_in, 1),
                              ("row_bytes_out", row_bytes_out, 1), ("kh", kh, 1),
                              ("stride", stride, 1), ("pad_top", pad_top, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise UsageError(f"conv_wrap_margin: {label} must be an integer >= {low}, "
                             f"got {value!r}")
    margin: int | None = None
    lowest_live: int | None = None  # lowest input row read by rows >= r
    # Walk backwards so that "rows read by r or later" accumulates; windows only
    # move down as r grows, so the lowest live row is the top of the first
    # non-empty window at or after r.
    for r in range(out_rows - 1, -1, -1):
        lo, hi = _window(r, in_rows, kh, stride, pad_top)
        if lo <= hi:
            lowest_live = lo
        if lowest_live is not None:
            bound = (r + 1) * row_bytes_out - lowest_live * row_bytes_in
            margin = bound if margin is None else max(margin, bound)
    if margin is None:
        raise UsageError("conv_wrap_margin: no output row reads any input row "
                         f"(in_rows={in_rows}, kh={kh}, stride={stride}, pad_top={pad_top})")
    return margin
