"""The memory problem of a lowered program, and the planner as a ``BufferPlan``.

Planning happens here, on the buffers the C-family emitter really allocates
(after fusion, BatchNorm folding, NHWC copies, in-place concatenation and the
kernels' scratch), not on IR values: only the backend knows those buffers and
in which order its kernels touch them.  The ``plan-memory`` pass calls the same
code (``plan_graph``) and writes the result back into the IR as placements; the
backend re-plans with the same options (plans are deterministic) and checks
that any placements the IR carries are identical.

Time: every kernel call is one *step* (graph-input copies are step -1, the
output copies the last step); a kernel that first copies its whole input into a
scratch buffer takes two steps (copy, then compute).  A buffer lives from the
first to the last step that touches it.

Relations offered to the planner (``n2d2c.passes.memory``), each only for
kernels whose access order was checked (``KernelMemory``):

* in place: an element-wise kernel whose output view equals an input view
  (same offsets, strides and element size) may overwrite that input;
* wrap: a kernel that writes output rows in increasing order, each after
  reading only its window of input rows (batch 1, whole NHWC buffers), may
  write its output over the input rows it no longer needs;
* a staged kernel (input copied row by row into a zero-padded scratch, then
  computed from the scratch) is a wrap from the input into the scratch and,
  when its compute is row-ordered, a wrap from the scratch into the output.

In-place concatenation is decided earlier, by the lowering (``program.py``):
the producers write into the Concat's buffer, which then lives from the first
producer on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ...errors import InternalError, UsageError
from ...passes.memory import (INPUT_STEP, Buffer, ConvWrap, MemoryOptions, MemoryPlan,
                              MemoryProblem, PlanCheckError, check_plan, plan_memory)
from .buffers import ArenaPlacement, BufferPlan, BufferRequest, Region
from .kernel_memory import NONE, KernelMemory
from .views import Storage, View

if TYPE_CHECKING:  # pragma: no cover
    from ...ir import Graph
    from .emitter import CEmitter
    from .target import CTarget




def _covers(view: View, storage: Storage) -> bool:
    """The view addresses every element of its storage exactly once, from offset 0."""
    if view.offset != 0 or view.size != storage.size:
        return False
    dims = sorted(((s, d) for s, d in zip(view.strides, view.shape) if d != 1), reverse=True)
    expected = 1
    for stride, size in reversed(dims):
        if stride != expected:
            return False
        expected *= size
    return True


def _whole_nhwc(view: View) -> bool:
    return (view.storage.kind == "arena" and view.rank == 4 and view.shape[0] == 1
            and view.is_nhwc() and _covers(view, view.storage))


@dataclass
class _Buf:
    storage: Storage
    first: int
    last: int
    inplace_of: str | None = None
    wrap: ConvWrap | None = None


class ProblemBuilder:
    """Collects lifetimes and relations of the arena buffers of a prepared emitter."""

    def __init__(self, emitter: "CEmitter", itemsize: int | None = None):
        self.emitter = emitter
        self.itemsize = itemsize
        self.bufs: dict[str, _Buf] = {}

    def nbytes(self, storage: Storage) -> int:
        return storage.size * (self.itemsize or storage.itemsize)

    def elt(self, storage: Storage) -> int:
        return self.itemsize or storage.itemsize

    def touch(self, storage: Storage, step: int) -> None:
        if storage.kind != "arena":
            return
        buf = self.bufs.get(storage.name)
        if buf is None:
            self.bufs[storage.name] = _Buf(storage, step, step)
        else:
            buf.first, buf.last = min(buf.first, step), max(buf.last, step)

    def requests(self) -> list[BufferRequest]:
        e = self.emitter
        scratch = {}
        for call_id, storage in e._scratch:
            scratch.setdefault(call_id, []).append(storage)
        pending: list[tuple[int, object, str, object, KernelMemory]] = []
        step = 0
        store_calls = []
        for layer, items in e.prepared:
            for call, (template, ctx) in zip(layer.calls, items):
                if layer.kind == "load":
                    for v in (*call.reads.values(), *call.writes.values()):
                        self.touch(v.storage, INPUT_STEP)
                    continue
                if layer.kind == "store":
                    store_calls.append(call)
                    continue
                traits = e.kernel_memory(call, template, ctx)
                staged = traits.staged is not None
                for v in call.reads.values():
                    if v is not None:
                        self.touch(v.storage, step)
                for storage in scratch.get(id(call), ()):
                    self.touch(storage, step)
                    if staged:
                        self.touch(storage, step + 1)
                for v in call.writes.values():
                    self.touch(v.storage, step + 1 if staged else step)
                pending.append((step, call, template, ctx, traits))
                step += 2 if staged else 1
        for call in store_calls:
            for v in (*call.reads.values(), *call.writes.values()):
                self.touch(v.storage, step)
        for item in pending:
            self._relations(*item)
        return [BufferRequest(b.storage.name, self.nbytes(b.storage), b.first, b.last,
                              inplace_of=b.inplace_of, wrap=b.wrap, align=self.elt(b.storage))
                for b in sorted(self.bufs.values(), key=lambda b: (b.first, b.storage.name))]

    # -- relations ---------------------------------------------------------------------
    def _relations(self, step: int, call, template: str, ctx, traits: KernelMemory) -> None:
        if traits.elementwise:
            self._inplace(step, call)
        if traits.staged is not None:
            self._staged(step, call, traits)
        elif traits.rows:
            x, y = call.reads.get("x"), call.writes.get("y")
            if x is not None and y is not None:
                self._wrap(x, y, call.params, step)

    def _produced_here(self, storage: Storage, step: int) -> bool:
        buf = self.bufs.get(storage.name)
        return buf is not None and buf.first == step and buf.wrap is None \
            and buf.inplace_of is None

    def _inplace(self, step: int, call) -> None:
        y = call.writes.get("y")
        if y is None or y.storage.kind != "arena" or not _covers(y, y.storage) \
                or not self._produced_here(y.storage, step):
            return
        candidates = []
        for a in call.reads.values():
            if a is None:
                continue
            st = a.storage
            # (real element sizes: an itemsize override is for reports, not for semantics)
            if (st.kind != "arena" or st.name == y.storage.name or st.size != y.storage.size
                    or st.itemsize != y.storage.itemsize
                    or (a.offset, a.shape, a.strides) != (y.offset, y.shape, y.strides)):
                continue
            # Every read of that buffer in this call must be the same elements.
            if any(b is not None and b.storage.name == st.name and (b.offset, b.shape, b.strides)
                   != (a.offset, a.shape, a.strides) for b in call.reads.values()):
                continue
            candidates.append(st)
        if candidates:
            last = [st for st in candidates if self.bufs[st.name].last == step]
            self.bufs[y.storage.name].inplace_of = (last or candidates)[0].name

    def _wrap(self, x: View, y: View, params: dict, step: int) -> None:
        """Row geometry of a row-ordered conv/pool writing ``y`` from ``x`` (see wrap.py):
        rows are the H rows of batch-1 NHWC buffers; dilated windows span their taps."""
        src, out = x.storage, y.storage
        if not (_whole_nhwc(x) and _whole_nhwc(y)) or not self._produced_here(out, step) \
                or src.name == out.name:
            return
        _, c, h, w = x.shape
        _, m, oh, ow = y.shape
        kh, dh = params["kernel"][0], params["dilations"][0]
        self._set_wrap(out, ConvWrap(src.name, h, oh, w * c * self.elt(src),
                                     ow * m * self.elt(out), (kh - 1) * dh + 1,
                                     params["strides"][0], params["pads"][0]))

    def _set_wrap(self, out: Storage, geometry: ConvWrap) -> None:
        try:
            geometry.margin
        except UsageError:  # no output row reads the input (degenerate geometry)
            return
        self.bufs[out.name].wrap = geometry

    def _staged(self, step: int, call, traits: KernelMemory) -> None:
        x, y = call.reads.get("x"), call.writes.get("y")
        scratch = traits.staged
        if x is None or y is None or not _whole_nhwc(x) or scratch.name not in self.bufs:
            return
        _, c, h, w = x.shape
        pt, pl, pb, pr = traits.pads
        hp, wp = h + pt + pb, w + pl + pr
        if hp * wp * c != scratch.size:
            raise InternalError(f"scratch {scratch.name} has {scratch.size} elements, "
                                f"expected {hp}x{wp}x{c}")
        if self.bufs[scratch.name].first == step:  # the copy: one input row per padded row
            self._set_wrap(scratch, ConvWrap(x.storage.name, h, hp, w * c * self.elt(x.storage),
                                             wp * c * self.elt(scratch), 1, 1, pt))
        if traits.rows and _whole_nhwc(y) and self._produced_here(y.storage, step + 1):
            _, m, oh, ow = y.shape
            kh, dh = call.params["kernel"][0], call.params["dilations"][0]
            self._set_wrap(y.storage, ConvWrap(scratch.name, hp, oh, wp * c * self.elt(scratch),
                                               ow * m * self.elt(y.storage), (kh - 1) * dh + 1,
                                               call.params["strides"][0], 0))


def problem_of(requests: Sequence[BufferRequest], alignment: int = 1) -> MemoryProblem:
    """The planner's view of a list of requests (relations included); every offset is a
    multiple of ``alignment`` and of each request's element size."""
    for r in requests:
        alignment = math.lcm(alignment, r.align)
    return MemoryProblem(tuple(Buffer(r.name, r.nbytes, r.first, r.last, inplace_of=r.inplace_of,
                                      wrap=r.wrap) for r in requests), alignment=alignment)


class PlannedBuffers(BufferPlan):
    """The memory planner (``n2d2c.passes.memory``) behind the ``BufferPlan`` seam.

    The arena is exactly the planned size; graph inputs kept out of it
    (``IncludeInputInBuffer=0``) become external buffers of their own.  The
    alignment is the least common multiple of the element sizes and
    ``MemoryAlignment``.
    """

    name = "planner"

    def __init__(self, options: MemoryOptions | None = None):
        self.options = options or MemoryOptions()
        super().__init__(self.options.MemoryAlignment)

    def place(self, requests):
        problem = problem_of(requests)
        plan = plan_memory(problem, self.options)
        check_plan(problem, plan)  # the independent checker validates every plan
        sizes = {r.name: r.nbytes for r in requests}
        regions = {name: Region(offset, sizes[name]) for name, offset in plan.offsets.items()}
        external = {name: sizes[name] for name in plan.external}
        return ArenaPlacement(regions, plan.arena_size, plan.alignment, external=external,
                              plan=plan, problem=problem)


# -- whole graphs ------------------------------------------------------------------------

@dataclass
class GraphMemory:
    """A graph's planned buffers: the emitter (prepared and planned), the problem, the plan."""

    emitter: "CEmitter"
    problem: MemoryProblem
    plan: MemoryPlan
    options: MemoryOptions

    @property
    def placement(self) -> ArenaPlacement:
        return self.emitter.placement

    def value_placements(self) -> dict[str, tuple[str, int, tuple[int, ...]]]:
        """Value name -> (space, byte offset, element strides) of every materialised value."""
        return value_placements(self.emitter)


def value_placements(emitter: "CEmitter") -> dict[str, tuple[str, int, tuple[int, ...]]]:
    placement = emitter.placement
    out = {}
    for name, view in emitter.program.value_views.items():
        st = view.storage
        if st.kind != "arena":
            continue
        if st.name in placement.regions:
            space, base = "arena", placement.regions[st.name].offset
        elif st.name in placement.external:
            space, base = "external", 0
        else:
            continue  # lowered but never touched by a kernel
        out[name] = (space, base + view.offset * st.itemsize, tuple(view.strides))
    return out


def plan_graph(graph: "Graph", options: MemoryOptions | None = None, *,
               target: "str | CTarget" = "cpp", fuse: bool = True, itemsize: int | None = None,
               name: str = "network", **emitter_options) -> GraphMemory:
    """Lower ``graph`` for ``target`` (a C-family target or its name) and plan its buffers,
    as the backend does; ``emitter_options`` are the target's own options (e.g. cpp's
    ``parallel``).

    ``itemsize`` counts every activation element as that many bytes (e.g. 1 for
    "int8 sizes" of a float program); the emitter is then only good for reports.
    """
    from .program import lower_graph
    from .target import get_target

    target = get_target(target)
    options = options or MemoryOptions()
    program = lower_graph(graph, name, fuse=fuse, concat_in_place=options.OptimizeNoBranchConcat)
    emitter = target.make_emitter(program, plan=PlannedBuffers(options), options=emitter_options)
    emitter.memory_itemsize = itemsize
    emitter.prepare_all()
    emitter.placement = emitter.plan_memory()
    return GraphMemory(emitter, emitter.placement.problem, emitter.placement.plan, options)


REPORT_NOTES = (
    "lifetimes are in kernel-call steps: -1 copies the inputs in, the last step copies the "
    "outputs out;",
    "buffers are the backend's: values fused into a kernel have none, NHWC copies and "
    "kernel scratch (__padded) have one.",
)


def summary_of(graph: "Graph", memory: GraphMemory, **plan_kwargs) -> dict:
    """``memory_summary`` where every variant is re-lowered and re-planned (in-place
    concatenation changes the buffers themselves, not only the relations)."""
    from ...passes.memory import memory_summary

    def rebuild(opts: MemoryOptions):
        other = plan_graph(graph, opts, **plan_kwargs)
        return other.problem, other.plan

    return memory_summary(memory.problem, memory.plan, memory.options, rebuild=rebuild)


# -- the plan in the IR ---------------------------------------------------------------------

def plan_attributes(memory: GraphMemory, fuse: bool) -> dict[str, object]:
    """The ``memory {...}`` summary a planned graph carries (options included, so that the
    backend re-plans with the same ones)."""
    o, plan = memory.options, memory.plan
    return {"target": memory.emitter.target, "arena_bytes": plan.arena_size,
            "lower_bound": plan.lower_bound,
            "alignment": plan.alignment, "strategy": o.MemoryManagerStrategy,
            "chosen": plan.chosen, "include_input_in_buffer": o.IncludeInputInBuffer,
            "optimize_buffer_memory": o.OptimizeBufferMemory,
            "optimize_no_branch_concat": o.OptimizeNoBranchConcat,
            "memory_alignment": o.MemoryAlignment, "exact_time_limit": float(o.exact_time_limit),
            "fuse": fuse}


def options_from_attributes(attrs: dict[str, object]) -> tuple[MemoryOptions, bool]:
    """MemoryOptions and ``fuse`` recorded by ``plan_attributes``."""
    try:
        options = MemoryOptions(
            IncludeInputInBuffer=attrs["include_input_in_buffer"],
            OptimizeBufferMemory=attrs["optimize_buffer_memory"],
            OptimizeNoBranchConcat=attrs["optimize_no_branch_concat"],
            MemoryAlignment=attrs["memory_alignment"],
            MemoryManagerStrategy=attrs["strategy"],
            exact_time_limit=attrs["exact_time_limit"])
        fuse = attrs["fuse"]
    except KeyError as err:
        raise UsageError(f"the graph's memory {{...}} summary lacks '{err.args[0]}'",
                         hint="re-run the plan-memory pass") from None
    if not isinstance(fuse, bool):
        raise UsageError(f"memory summary: fuse must be true or false, got {fuse!r}")
    return options, fuse


def annotate_graph(graph: "Graph", memory: GraphMemory, fuse: bool) -> int:
    """Write the plan into the IR: a placement on every materialised value (others get
    none) and the graph's ``memory {...}`` summary.  Returns how many values are placed."""
    from ...ir.graph import Placement

    placements = memory.value_placements()
    count = 0
    for v in graph.values():
        where = placements.get(v.name)
        v.placement = Placement(*where) if where is not None else None
        count += where is not None
    graph.memory_plan = plan_attributes(memory, fuse)
    return count


def has_placements(graph: "Graph") -> bool:
    return bool(graph.memory_plan) or any(v.placement is not None for v in graph.values())


def check_graph_placements(graph: "Graph", memory: GraphMemory, fuse: bool) -> None:
    """Raise UsageError unless the placements and summary the IR carries are exactly the
    plan just computed for this graph (they go stale when a pass runs after plan-memory)."""
    expected = memory.value_placements()
    problems = []
    want = plan_attributes(memory, fuse)
    for key, value in want.items():
        if graph.memory_plan.get(key) != value:
            problems.append(f"memory summary {key} = {graph.memory_plan.get(key)!r}, "
                            f"the backend's plan has {value!r}")
    for v in graph.values():
        got = (v.placement.space, v.placement.offset, v.placement.strides) \
            if v.placement is not None else None
        if got != expected.get(v.name):
            problems.append(f"%{v.name}: IR says {v.placement or 'no placement'}, the "
                            f"backend's plan says "
                            + (f"@{expected[v.name][0]}({expected[v.name][1]}, "
                               f"{list(expected[v.name][2])})" if v.name in expected
                               else "no placement"))
    if problems:
        raise UsageError("the memory placements in the IR are not the plan of this graph "
                         f"({len(problems)} difference(s)):\n  " + "\n  ".join(problems[:8]),
                         hint="run plan-memory last in the pipeline, with the backend's "
                              "memory options (or drop it: the backend plans by itself)")


__all__ = ["GraphMemory", "KernelMemory", "NONE", "PlanCheckError", "PlannedBuffers", "ProblemBuilder",
           "annotate_graph", "check_graph_placements", "has_placements",
           "options_from_attributes", "plan_attributes", "plan_graph", "problem_of",
           "summary_of", "value_placements"]
