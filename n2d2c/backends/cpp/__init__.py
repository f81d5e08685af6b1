"""The ``cpp`` backend: a C++14/OpenMP project (network, weights, Makefile, testbench).

    from n2d2c.backends.cpp import compile_to_dir
    compile_to_dir(graph, "out/lenet")          # then: make -C out/lenet && ./bin/run_test

The project driver is the C layer's (``n2d2c/backends/c/project.py``): this
module only declares the target.  Options (``compile_to_dir`` keywords, or
``-X KEY=VALUE`` on the CLI; ``n2d2c backends`` lists them): the C-family
project options (``c/target.py: PROJECT_OPTIONS``: stimuli, seed, expected,
buffer_plan, memory, memory_report, fuse), ``parallel`` (OpenMP pragmas on
large loops), ``tune`` / ``tiling`` (per-layer kernel choices: ``tuning.py``,
``autotune.py``) and ``winograd`` (``winograd.py``: off|auto|f23|f43, or NAME:MODE).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...ir import Graph
from ..c.project import compile_to_dir as _compile_to_dir
from ..c.target import CTarget, register_target
from ..registry import BackendOption
from .emitter import CppEmitter
from .tuning import asks_for_tuning


def _complete_options(graph: Graph, options: dict, name: str) -> dict:
    """-X tune=1: the autotuner's tune file in place of the option (autotune.py)."""
    if asks_for_tuning(options.get("tune")):
        from .autotune import autotune
        return {**options, "tune": autotune(graph, name, options)}
    return options


CPP = CTarget(
    name="cpp",
    description="C++14 + OpenMP project: specialised kernels, static arena, Makefile, testbench",
    emitter=CppEmitter,
    emitter_options=(
        BackendOption("parallel", True, "OpenMP pragmas on large loops"),
        BackendOption("tune", "", "per-layer kernel choices: 1 times candidates on this "
                      "machine (one build each) and keeps the fastest; PATH reads a tune file "
                      "(the project keeps its choices as tune.json)"),
        BackendOption("tiling", "", "register tile PWxNV (pixels x channel vectors) of every "
                      "direct convolution, e.g. 8x3; default: from the vector width"),
        BackendOption("winograd", "auto", "3x3 stride-1 float convolutions as Winograd "
                      "F(2,3)/F(4,3): off, auto (a cost model, or the tune file's choice), f23 "
                      "or f43 for every layer, or NAME:MODE entries, comma-separated"),
    ),
    complete_options=_complete_options,
)
BACKEND = register_target(CPP)


def compile_to_dir(graph: Graph, out_dir: str | os.PathLike, *, name: str = "network",
                   **extra) -> Path:
    """Generate the C++ project into ``out_dir`` atomically (a failure leaves no folder)."""
    return _compile_to_dir(graph, out_dir, target=CPP, name=name, **extra)


__all__ = ["BACKEND", "CPP", "CppEmitter", "compile_to_dir"]
