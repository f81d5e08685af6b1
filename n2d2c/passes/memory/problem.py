"""The planner's input and output, independent of the IR.

Time is a sequence of *steps* (one op each).  A buffer is live on the closed
interval ``[start, end]``: produced at step ``start``, last read at step
``end``.  A graph input is produced before the first step: ``start == -1``;
a graph output must stay readable after the run: ``end`` = the last step.
Two buffers live at a common step must not share bytes, except through the
relations below, which the IR pass sets and the planner *may* use:

* ``inplace_of=X``: an element-wise op reads X and writes this buffer; when
  that op is X's last reader (``X.end == start``) both may have the same bytes.
* ``wrap=ConvWrap(of=X, ...)``: a conv/pool-like op; when it is X's last reader
  the output may start below X and overlap X's head rows (see ``wrap.py``).
* ``concat_into=(C, k)``: this buffer is one input of the Concat producing C
  and that Concat is its last reader; it may be written directly at byte
  offset ``k`` of C.  For channel concats on strided layouts only the first
  byte is recorded: the strides are the IR's business, the planner only needs
  the slice to lie inside C.

Structural mistakes (unknown names, size mismatches) raise ``UsageError``;
relations whose timing does not allow sharing are merely left unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import UsageError
from .wrap import conv_wrap_margin

INPUT_STEP = -1


@dataclass(frozen=True)
class ConvWrap:
    """Row geometry of a conv/pool-like op whose output may overlap input ``of``."""

    of: str
    in_rows: int
    out_rows: int
    row_bytes_in: int
    row_bytes_out: int
    kh: int
    stride: int = 1
    pad_top: int = 0

    @property
    def margin(self) -> int:
        """Minimal safe ``start(input) - start(output)`` (bytes)."""
        return conv_wrap_margin(self.in_rows, self.out_rows, self.row_bytes_in,
                                self.row_bytes_out, self.kh, self.stride, self.pad_top)


@dataclass(frozen=True)
class Buffer:
    """One activation tensor: ``size`` bytes live on steps ``[start, end]``."""

    name: str
    size: int
    start: int
    end: int
    inplace_of: str | None = None
    wrap: ConvWrap | None = None
    concat_into: tuple[str, int] | None = None

    @property
    def is_graph_input(self) -> bool:
        return self.start == INPUT_STEP

    @property
    def wrap_of(self) -> str | None:
        return self.wrap.of if self.wrap is not None else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class MemoryProblem:
    """Buffers to place in one arena; every offset must be a multiple of ``alignment``."""

    buffers: tuple[Buffer, ...]
    alignment: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "buffers", tuple(self.buffers))
        errors = _structural_errors(self)
        if errors:
            raise UsageError("invalid memory problem:\n  " + "\n  ".join(errors))

    def by_name(self) -> dict[str, Buffer]:
        return {b.name: b for b in self.buffers}


def _structural_errors(problem: MemoryProblem) -> list[str]:
    errors: list[str] = []
    if not _is_int(problem.alignment) or problem.alignment < 1:
        errors.append(f"alignment must be an integer >= 1, got {problem.alignment!r}")
    names: dict[str, Buffer] = {}
    for b in problem.buffers:
        if not isinstance(b, Buffer):
            errors.append(f"not a Buffer: {b!r}")
            continue
        if not isinstance(b.name, str) or not b.name:
            errors.append(f"buffer name must be a non-empty string, got {b.name!r}")
        elif b.name in names:
            errors.append(f"duplicate buffer name {b.name!r}")
        names[b.name] = b
        if not _is_int(b.size) or b.size < 0:
            errors.append(f"{b.name}: size must be an integer >= 0, got {b.size!r}")
        if not (_is_int(b.start) and _is_int(b.end)) or b.start < INPUT_STEP or b.end < b.start:
            errors.append(f"{b.name}: lifetime [{b.start}, {b.end}] must satisfy "
                          f"-1 <= start <= end")
    if errors:
        return errors
    slices: dict[str, list[tuple[int, int, str]]] = {}
    for b in problem.buffers:
        errors.extend(_relation_errors(b, names, slices))
    for concat, parts in sorted(slices.items()):
        parts.sort()
        for (lo0, hi0, n0), (lo1, hi1, n1) in zip(parts, parts[1:]):
            if lo1 < hi0:
                errors.append(f"concat {concat}: slices of {n0} [{lo0}, {hi0}) and "
                              f"{n1} [{lo1}, {hi1}) overlap")
    return errors


def _relation_errors(b: Buffer, names: dict[str, Buffer],
                     slices: dict[str, list[tuple[int, int, str]]]) -> list[str]:
    errors: list[str] = []
    for kind, target in (("inplace_of", b.inplace_of), ("wrap", b.wrap_of),
                         ("concat_into", b.concat_into[0] if b.concat_into else None)):
        if target is not None and (target not in names or target == b.name):
            errors.append(f"{b.name}: {kind} names {target!r}, which is not another buffer")
            return errors
    if b.inplace_of is not None and names[b.inplace_of].size != b.size:
        errors.append(f"{b.name}: inplace_of {b.inplace_of} needs equal sizes "
                      f"({b.size} != {names[b.inplace_of].size})")
    if b.wrap is not None:
        w = b.wrap
        try:
            w.margin
        except UsageError as err:
            errors.append(f"{b.name}: {err.message}")
        else:
            if w.in_rows * w.row_bytes_in != names[w.of].size:
                errors.append(f"{b.name}: wrap geometry gives {w.in_rows}*{w.row_bytes_in} "
                              f"input bytes but {w.of} has {names[w.of].size}")
            if w.out_rows * w.row_bytes_out != b.size:
                errors.append(f"{b.name}: wrap geometry gives {w.out_rows}*{w.row_bytes_out} "
                              f"output bytes but the buffer has {b.size}")
    if b.concat_into is not None:
        concat, k = b.concat_into
        if not _is_int(k) or k < 0 or k + b.size > names[concat].size:
            errors.append(f"{b.name}: slice [{k}, {k}+{b.size}) is not inside "
                          f"{concat} ({names[concat].size} bytes)")
        else:
            slices.setdefault(concat, []).append((k, k + b.size, b.name))
    return errors


@dataclass(frozen=True)
class Sharing:
    """One relation the planner actually used.

    ``kind`` is ``"inplace"`` (same bytes as ``target``), ``"concat"`` (at byte
    ``amount`` of ``target``) or ``"wrap"`` (starts at least ``amount`` bytes
    below ``target``; ``amount`` is the margin rounded up to the alignment).
    """

    kind: str
    buffer: str
    target: str
    amount: int = 0


@dataclass(frozen=True)
class MemoryPlan:
    """Offsets of every arena buffer, plus how they were obtained.

    ``strategy`` is the strategy asked for, ``chosen`` the one whose offsets
    were kept (they differ for ``best`` and ``exact``).  ``optimal`` is True
    when the arena is proven minimal under the planner's model (it reached the
    lower bound, or CP-SAT proved it).  Graph inputs kept out of the arena
    (``IncludeInputInBuffer=0``) are listed in ``external`` and have no offset.
    ``lower_bound`` is the per-step bound (``bound.py``), raised to the bound
    CP-SAT proved when the ``exact`` strategy ran; ``step_bound`` is the former.
    """

    offsets: dict[str, int]
    arena_size: int
    strategy: str
    lower_bound: int
    alignment: int = 1
    chosen: str = ""
    optimal: bool = False
    external: tuple[str, ...] = ()
    shared: tuple[Sharing, ...] = ()
    solver_status: str | None = None
    options: object = field(default=None, compare=False)
    step_bound: int | None = None

    @property
    def ratio(self) -> float:
        """arena / lower bound (1.0 is optimal; 1.0 for an empty problem)."""
        return self.arena_size / self.lower_bound if self.lower_bound else 1.0
