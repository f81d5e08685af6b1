"""The C-family emitter shared by every C-like target (C++/OpenMP, Cortex-M, ...).

* ``target``: ``CTarget``, what a C-family target declares, and the portable C99
  target; ``project``: the project driver every target shares;
* ``program``: lowering of a graph into layers of kernel calls on strided views
  (``kernels``: the kernel table; ``program_text``/``program_verify``: printer and
  verifier of the lowered program);
* ``buffers``: the static arena and the ``BufferPlan`` interface that places buffers;
* ``memory``: the buffers' lifetimes and sharing relations, and the memory planner
  behind ``BufferPlan`` (``PlannedBuffers``, the default; ``plan_graph``);
* ``emitter``: ``CEmitter``, the base renderer a target subclasses (``spelling``,
  ``prepare``, ``context``);
* ``templates/generic``: portable C kernels every target falls back to.
"""

from .buffers import (ArenaPlacement, BufferPlan, BufferRequest, Region, ReuseBuffers,
                      SeparateBuffers, make_plan)
from .emitter import CEmitter, Ctx, Operand
from .kernels import KERNELS, KernelSpec
from .memory import KernelMemory, PlannedBuffers, plan_graph
from .program import LOWERINGS, Activation, KernelCall, Layer, Program, lower_graph
from .program_verify import verify_program
from . import lowering  # noqa: E402,F401  (fills LOWERINGS)
from . import lower_indexing, lower_logic  # noqa: E402,F401
from .views import Storage, View, loop_nest

__all__ = ["Activation", "ArenaPlacement", "BufferPlan", "BufferRequest", "CEmitter", "Ctx",
           "KERNELS", "KernelCall", "KernelMemory", "KernelSpec", "LOWERINGS", "Layer",
           "Operand", "PlannedBuffers", "Program", "Region", "ReuseBuffers", "SeparateBuffers",
           "Storage", "View", "loop_nest", "lower_graph", "make_plan", "plan_graph",
           "verify_program"]
