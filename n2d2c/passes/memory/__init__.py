"""Static memory planner: offsets of activation buffers in one arena.

Works on a small IR-free model (``MemoryProblem``): see ``problem.py`` for the
lifetime and relation semantics, ``wrap.py`` for the conv wrapping convention
and ``strategies.py`` for the strategy names.  The problems of real networks
are built by the C-family backend from the buffers it allocates
(``n2d2c/backends/c/memory.py``); the ``plan-memory`` pass
(``n2d2c/backends/c/plan_pass.py``) runs that and writes the placements into the IR.
"""

from .bound import lower_bound
from .checker import PlanCheckError, check_plan
from .layout import build_layout
from .options import MemoryOptions
from .params import options_from_params, parse_params, read_memory_options
from .planner import plan_memory
from .problem import INPUT_STEP, Buffer, ConvWrap, MemoryPlan, MemoryProblem, Sharing
from .report import (format_mapping_log, format_memory_report, memory_summary,
                     write_memory_reports)
from .strategies import HEURISTICS, STRATEGIES
from .wrap import conv_wrap_margin


def problem_lower_bound(problem: MemoryProblem, options: MemoryOptions | None = None) -> int:
    """Lower bound on the arena of ``problem`` under ``options`` (default options)."""
    return lower_bound(build_layout(problem, options or MemoryOptions()))


__all__ = [
    "INPUT_STEP", "Buffer", "ConvWrap", "HEURISTICS", "MemoryOptions", "MemoryPlan",
    "MemoryProblem", "PlanCheckError", "STRATEGIES", "Sharing", "check_plan",
    "conv_wrap_margin", "format_mapping_log", "format_memory_report", "memory_summary",
    "options_from_params",
    "parse_params", "plan_memory", "problem_lower_bound", "read_memory_options",
    "write_memory_reports",
]
