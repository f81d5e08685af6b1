"""The ``cpp`` backend: a C++14/OpenMP project (network, weights, Makefile, testbench).

    from n2d2c.backends.cpp import compile_to_dir
    compile_to_dir(graph, "out/lenet")          # then: make -C out/lenet && ./bin/run_test

The project driver is the C layer's (``n2d2c/backends/c/project.py``): this
module only declares the target.  Options (``compile_to_dir`` keywords, or
``-X KEY=VALUE`` on the CLI; ``n2d2c backends`` lists them): the C-family
project options (``c/target.py: PROJECT_OPTIONS``: stimuli, seed, expected,
buffer_plan, memory, memory_report, fuse) and ``parallel`` (OpenMP pragmas on
large loops).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...ir import Graph
from ..c.project import compile_to_dir as _compile_to_dir
from ..c.target import CTarget, register_target
from ..registry import BackendOption
from .emitter import CppEmitter

CPP = CTarget(
    name="cpp",
    description="C++14 + OpenMP project: specialised kernels, static arena, Makefile, testbench",
    emitter=CppEmitter,
    emitter_options=(BackendOption("parallel", True, "OpenMP pragmas on large loops"),),
)
BACKEND = register_target(CPP)


def compile_to_dir(graph: Graph, out_dir: str | os.PathLike, *, name: str = "network",
                   **extra) -> Path:
    """Generate the C++ project into ``out_dir`` atomically (a failure leaves no folder)."""
    return _compile_to_dir(graph, out_dir, target=CPP, name=name, **extra)


__all__ = ["BACKEND", "CPP", "CppEmitter", "compile_to_dir"]
