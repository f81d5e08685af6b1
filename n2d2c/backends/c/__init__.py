"""The C-family emitter shared by every C-like target (C++/OpenMP, Cortex-M, ...).

* ``program``: lowering of a graph into layers of kernel calls on strided views;
* ``buffers``: the static arena and the ``BufferPlan`` interface that places buffers;
* ``memory``: the buffers' lifetimes and sharing relations, and the memory planner
  behind ``BufferPlan`` (``PlannedBuffers``, the default; ``plan_graph``);
* ``emitter``: ``CEmitter``, the base renderer a target subclasses;
* ``templates/generic``: portable C kernels every target falls back to.
"""

from .buffers import (ArenaPlacement, BufferPlan, BufferRequest, Region, ReuseBuffers,
                      SeparateBuffers, make_plan)
from .emitter import CEmitter, Ctx, Operand
from .memory import KernelMemory, PlannedBuffers, plan_graph
from .program import LOWERINGS, Activation, KernelCall, Layer, Program, lower_graph
from . import lowering  # noqa: E402,F401  (fills LOWERINGS)
from .views import Storage, View, loop_nest

__all__ = ["Activation", "ArenaPlacement", "BufferPlan", "BufferRequest", "CEmitter", "Ctx",
           "KernelCall", "KernelMemory", "LOWERINGS", "Layer", "Operand", "PlannedBuffers",
           "Program", "Region", "ReuseBuffers", "SeparateBuffers", "Storage", "View",
           "loop_nest", "lower_graph", "make_plan", "plan_graph"]
