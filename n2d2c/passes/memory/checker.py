"""Independent validation of a plan against the *semantics* of the problem.

Deliberately shares no code with the planner (no blocks, no forbidden
intervals, no closed-form wrap margin; only the sweep listing which lifetimes
overlap, tested on its own): it looks at every pair of buffers live
at a common step and accepts a byte overlap only when executing the ops would
still be correct:

* in-place: ``Y.inplace_of == X``, same offset and size, and the op writing Y
  is X's last reader;
* concat: ``Y.concat_into == (C, k)``, Y exactly at ``offset(C) + k`` and Y is
  produced before the Concat (C is never written again, so the slice keeps
  Y's values while C lives);
* wrap: ``Y.wrap.of == X``, the op writing Y is X's last reader, and a
  row-by-row replay of that op never writes an input row still to be read.

An input may be overwritten by at most one in-place or wrap successor.
"""

from __future__ import annotations

import math

from ...errors import InternalError
from .intervals import overlapping_pairs
from .problem import Buffer, MemoryPlan, MemoryProblem


class PlanCheckError(InternalError):
    """A memory plan is unsafe; ``violations`` lists every problem found."""

    def __init__(self, violations: list[str]):
        super().__init__(f"memory plan has {len(violations)} violation(s):\n  "
                         + "\n  ".join(violations))
        self.violations = violations


def check_plan(problem: MemoryProblem, plan: MemoryPlan) -> None:
    """Raise ``PlanCheckError`` listing every violation; return None if safe."""
    issues: list[str] = []
    buffers = problem.by_name()
    placed = _check_offsets(problem, plan, buffers, issues)
    overwriters: dict[str, list[str]] = {}
    names = [name for name in sorted(placed) if buffers[name].size]
    for i, j in overlapping_pairs([(buffers[n].start, buffers[n].end) for n in names]):
        a_name, b_name = names[i], names[j]
        a, b = buffers[a_name], buffers[b_name]
        oa, ob = placed[a_name], placed[b_name]
        lo, hi = max(oa, ob), min(oa + a.size, ob + b.size)
        if lo >= hi:
            continue
        verdict = _shared_ok(a, oa, b, ob, buffers) or _shared_ok(b, ob, a, oa, buffers)
        if verdict is None:
            steps = f"[{max(a.start, b.start)}, {min(a.end, b.end)}]"
            issues.append(f"{a_name} [{oa}, {oa + a.size}) and {b_name} "
                          f"[{ob}, {ob + b.size}) overlap on bytes [{lo}, {hi}) "
                          f"while both live at steps {steps}")
        elif isinstance(verdict, str) and verdict.startswith("!"):
            issues.append(verdict[1:])
        elif isinstance(verdict, tuple):
            overwriters.setdefault(verdict[1], []).append(verdict[0])
    for source, writers in sorted(overwriters.items()):
        if len(writers) > 1:
            issues.append(f"{source} is overwritten in place by several buffers: "
                          + ", ".join(sorted(writers)))
    if issues:
        raise PlanCheckError(issues)


def _check_offsets(problem: MemoryProblem, plan: MemoryPlan, buffers: dict[str, Buffer],
                   issues: list[str]) -> dict[str, int]:
    align = math.lcm(problem.alignment, plan.alignment)
    placed: dict[str, int] = {}
    for name in sorted(set(plan.offsets) - set(buffers)):
        issues.append(f"offset given for unknown buffer {name!r}")
    for b in sorted(problem.buffers, key=lambda b: b.name):
        offset = plan.offsets.get(b.name)
        if offset is None:
            if not (b.is_graph_input and b.name in plan.external):
                issues.append(f"{b.name} has no offset")
            continue
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            issues.append(f"{b.name}: offset {offset!r} is not an integer >= 0")
            continue
        if offset % align:
            issues.append(f"{b.name}: offset {offset} is not a multiple of {align}")
        if offset + b.size > plan.arena_size:
            issues.append(f"{b.name}: [{offset}, {offset + b.size}) exceeds the arena "
                          f"({plan.arena_size} bytes)")
        placed[b.name] = offset
    return placed


def _shared_ok(y: Buffer, oy: int, x: Buffer, ox: int, buffers: dict[str, Buffer]):
    """Is the overlap of ``y`` (the writer) with ``x`` allowed by a relation of y?

    Returns None (no relation excuses it), True (concat slice), ``(y, x)`` for
    an accepted in-place/wrap overwrite, or ``"!message"`` for a relation that
    exists but is broken.
    """
    last_reader = x.start < y.start == x.end
    if y.concat_into is not None and y.concat_into[0] == x.name:
        if oy == ox + y.concat_into[1] and y.start < x.start:
            return True
        return None
    if y.inplace_of == x.name:
        if oy == ox and y.size == x.size and last_reader:
            return (y.name, x.name)
        return None
    if y.wrap is not None and y.wrap.of == x.name and last_reader:
        bad = _replay_rows(y, oy, x, ox)
        return (y.name, x.name) if bad is None else "!" + bad
    return None


def _replay_rows(y: Buffer, oy: int, x: Buffer, ox: int) -> str | None:
    """Run the conv row by row; report the first write onto a still-needed row."""
    w = y.wrap
    reads = []  # input rows read by each output row
    for r in range(w.out_rows):
        top = r * w.stride - w.pad_top
        reads.append({i for i in range(top, top + w.kh) if 0 <= i < w.in_rows})
    pending: list[set[int]] = [set() for _ in range(w.out_rows + 1)]
    for r in range(w.out_rows - 1, -1, -1):  # rows read by output row r or later
        pending[r] = pending[r + 1] | reads[r]
    for r in range(w.out_rows):
        lo, hi = oy + r * w.row_bytes_out, oy + (r + 1) * w.row_bytes_out
        for i in sorted(pending[r]):
            ilo = ox + i * w.row_bytes_in
            if lo < ilo + w.row_bytes_in and ilo < hi:
                return (f"{y.name} wraps {x.name} unsafely: writing output row {r} "
                        f"[{lo}, {hi}) clobbers input row {i} [{ilo}, "
                        f"{ilo + w.row_bytes_in}) that rows >= {r} still read")
    return None
