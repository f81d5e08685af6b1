"""`plan-memory`: plan the activation memory of a C-family target and show it in the IR.

The planning runs on the buffers the target's backend really allocates (see
``memory.py``: fusion, NHWC copies, in-place concatenation, kernel scratch), so
the pass lives in the backend layer and names its target (default ``cpp``), with
N2D2's option names::

    plan-memory{MemoryManagerStrategy=exact,MemoryAlignment=16,OptimizeBufferMemory=false}
    plan-memory{target=c}                # plan for the portable C99 target
    plan-memory{params="params.ini"}     # an N2D2 -export-parameters file

Every materialised value then carries its placement, ``@arena(byte offset,
[element strides])`` (a Concat input written in place is a strided view of the
Concat's buffer), and the graph a ``memory {...}`` summary holding the options.
The backend plans again with those options (deterministic: the same plan) and
refuses placements that differ from its plan, e.g. when a pass rewrote the
graph after this one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...errors import UsageError
from ...ir import Graph
from ...passes import Pass, PassResult, option, register_pass
from ...passes.canonical import canonicalize
from ...passes.memory import MemoryOptions, read_memory_options
from ...passes.memory.strategies import STRATEGIES
from .memory import annotate_graph, plan_graph
from .target import get_target

_MEMORY_FIELDS = ("IncludeInputInBuffer", "OptimizeBufferMemory", "OptimizeNoBranchConcat",
                  "MemoryAlignment", "MemoryManagerStrategy", "exact_time_limit")
_DEFAULTS = MemoryOptions()


@register_pass
@dataclass(frozen=True)
class PlanMemory(Pass):
    """Plan a C-family target's activation arena; annotate values with their placement."""

    name = "plan-memory"
    MemoryManagerStrategy: str = option(_DEFAULTS.MemoryManagerStrategy,
                                        "one of " + ", ".join(STRATEGIES))
    MemoryAlignment: int = option(_DEFAULTS.MemoryAlignment,
                                  "offsets are multiples of this many bytes (and of the "
                                  "element size)")
    IncludeInputInBuffer: bool = option(_DEFAULTS.IncludeInputInBuffer,
                                        "graph inputs live in the arena")
    OptimizeBufferMemory: bool = option(_DEFAULTS.OptimizeBufferMemory,
                                        "in-place element-wise ops and wrapping")
    OptimizeNoBranchConcat: bool = option(_DEFAULTS.OptimizeNoBranchConcat,
                                          "producers write into their Concat slice")
    exact_time_limit: float = option(_DEFAULTS.exact_time_limit,
                                     "CP-SAT budget of strategy exact (deterministic s)")
    params: str = option("", "N2D2 -export-parameters file, read first (options set "
                             "here win)")
    fuse: bool = option(True, "plan the fused kernels (the backend's 'fuse' option)")
    target: str = option("cpp", "the C-family backend whose buffers are planned (cpp, c)")

    def __post_init__(self):
        super().__post_init__()
        get_target(self.target)  # an unknown target is an error now, not when the pipeline runs
        if not self.params:
            self.memory_options()

    def memory_options(self) -> MemoryOptions:
        base = read_memory_options(self.params, strict=False) if self.params else MemoryOptions()
        changes = {f: getattr(self, f) for f in _MEMORY_FIELDS
                   if getattr(self, f) != getattr(_DEFAULTS, f)}
        try:
            return dataclasses.replace(base, **changes)
        except UsageError as err:
            raise UsageError(f"pass 'plan-memory': {err.message}", hint=err.hint) from None

    def apply(self, graph: Graph) -> PassResult:
        if self.fuse:
            canonicalize(graph)  # what the backend lowers: the placements are for its values
        before = ({v.name: v.placement for v in graph.values()}, dict(graph.memory_plan))
        memory = plan_graph(graph, self.memory_options(), target=self.target, fuse=self.fuse)
        placed = annotate_graph(graph, memory, self.fuse)
        # Statistics count what changed, so that planning an already planned graph again
        # with the same options reports no change.
        moved = sum(1 for v in graph.values() if before[0].get(v.name) != v.placement)
        plan = memory.plan
        return PassResult({"placed": moved, "replanned": int(before[1] != graph.memory_plan)},
                          report=f"{placed} values placed; arena {plan.arena_size} bytes, "
                                 f"lower bound {plan.lower_bound} (ratio {plan.ratio:.4f}), "
                                 f"strategy {plan.strategy}")
