"""C-family targets: what a backend built on the C emitter declares, in one object.

A target is a ``CTarget`` registered with ``register_target``: its emitter class
(spelling, kernel templates, file templates, kernel memory traits, the compiler
and flags of its generated Makefile), its default pass pipeline, and its own
options beside the ones every C-family project has (``PROJECT_OPTIONS``).  The
project driver (``project.py``) is the same for every target.  Adding a target
is one ``CEmitter`` subclass, its templates and one ``register_target`` call;
this module registers the portable C99 target itself (``--backend c``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...errors import UsageError
from ...ir import Graph
from ..registry import Backend, BackendOption, get_backend, register_backend
from .emitter import CEmitter

# The canonical form every C-family lowering expects (see docs/ARCHITECTURE.md): no
# dropout, batch norms folded, zero padding inside the windows, no-op reshapes gone.
DEFAULT_PIPELINE = "remove-dropout,fuse-bn,fuse-padding,simplify-reshape,dead-code"

PROJECT_OPTIONS = (
    BackendOption("stimuli", 3, "random test inputs exported to stimuli/ (0: none)"),
    BackendOption("seed", 0, "seed of the random stimuli"),
    BackendOption("expected", True, "export the reference simulator's outputs to expected/"),
    BackendOption("buffer_plan", None, "how activations share the arena: planner (default), "
                                       "reuse, separate, or a BufferPlan object"),
    BackendOption("memory", None, "memory planner options (MemoryOptions or a dict of "
                                  "N2D2's names); default: the IR's memory {...} summary"),
    BackendOption("memory_report", False, "add the bytes each memory optimisation saves "
                                          "to memory_mapping.log"),
    BackendOption("fuse", True, "fold activations and batch norms into producing kernels"),
)


@dataclass(frozen=True)
class CTarget:
    """One C-family target (see the module docstring)."""

    name: str
    description: str
    emitter: type[CEmitter]
    default_pipeline: str = DEFAULT_PIPELINE
    # Target options beyond PROJECT_OPTIONS, passed to the emitter's constructor.
    emitter_options: tuple[BackendOption, ...] = ()
    # The option `--target` sets (Backend.target_option), one of emitter_options.
    target_option: str | None = None
    # Rewrites a copy of the graph before it is lowered, given the resolved backend
    # options (stm32: integer inputs and outputs with -X io=integer); None: none.
    prepare_graph: Callable[[Graph, dict], Graph] | None = None
    # Completes the resolved options before the project is generated, given the graph and
    # the network's name (cpp: -X tune=1 times kernel choices on this machine and hands the
    # emitter the tune file it made); None: nothing to complete.
    complete_options: Callable[[Graph, dict, str], dict] | None = None

    @property
    def compiler(self) -> str:
        """The generated Makefile's default compiler ($CC / $CXX)."""
        return self.emitter.compiler

    @property
    def flags(self) -> tuple[str, ...]:
        """Language and warning flags the generated Makefile always passes."""
        return self.emitter.compiler_flags

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        return self.emitter.template_dirs

    @property
    def file_templates(self) -> dict[str, str]:
        return self.emitter.file_templates

    @property
    def options(self) -> tuple[BackendOption, ...]:
        return PROJECT_OPTIONS + self.emitter_options

    def supported_ops(self) -> list[str]:
        """IR op names the lowering handles (every C-family target shares the lowering)."""
        from . import lowering  # noqa: F401  (fills LOWERINGS)
        from . import lower_indexing  # noqa: F401
        from .program import LOWERINGS
        return sorted(cls.OP_NAME for cls in LOWERINGS)

    def emitter_kwargs(self, options: dict | None) -> dict:
        """The target's own options (``emitter_options``) out of a backend options dict,
        as the emitter constructor's keywords (absent ones at their default)."""
        options = options or {}
        return {o.name: options.get(o.name, o.default) for o in self.emitter_options}

    def make_emitter(self, program, *, plan=None, options: dict | None = None) -> CEmitter:
        """The target's emitter for ``program``, given the (resolved) backend options."""
        return self.emitter(program, plan=plan, **self.emitter_kwargs(options))


_TARGETS: dict[str, CTarget] = {}


def register_target(target: CTarget) -> Backend:
    """Register ``target`` as a C-family target and as the backend of the same name."""
    _TARGETS[target.name] = target

    def emit(graph, out_dir, options):
        from .project import emit_project  # (project.py imports this module)
        return emit_project(target, graph, out_dir, options)

    return register_backend(Backend(name=target.name, description=target.description,
                                    default_pipeline=target.default_pipeline, emit=emit,
                                    options=target.options, plans_memory=True,
                                    target_option=target.target_option))


def get_target(target: "str | CTarget") -> CTarget:
    """The C-family target called ``target`` (its module is imported on first use)."""
    if isinstance(target, CTarget):
        return target
    if target not in _TARGETS:
        get_backend(target)   # imports the module that registers it
    if target not in _TARGETS:
        raise UsageError(f"backend '{target}' is not a C-family target",
                         hint=f"C-family targets: {', '.join(sorted(_TARGETS))}")
    return _TARGETS[target]


C99 = CTarget(
    name="c",
    description="portable C99 project: generic kernels, static arena, Makefile, testbench",
    emitter=CEmitter,
)
BACKEND = register_target(C99)

__all__ = ["C99", "CTarget", "DEFAULT_PIPELINE", "PROJECT_OPTIONS", "get_target",
           "register_target"]
