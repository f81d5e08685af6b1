"""Backends registered by name; `n2d2c compile --backend NAME` looks them up here."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..ir import Graph


@dataclass
class CompileOptions:
    """Options common to every backend; backends read what they need from ``extra``."""

    output_dir: Path
    name: str = "network"
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    # Pass pipeline run before emission; `n2d2c compile --passes` replaces it.
    default_pipeline: str
    # Writes the generated project into a scratch folder (the caller makes it atomic).
    emit: Callable[[Graph, Path, CompileOptions], None]


# Backend name → module that registers it; imported lazily so that, e.g., a GPU
# backend's imports never run unless it is asked for.
_MODULES = {
    "cpp": "n2d2c.backends.cpp",
    "onnx": "n2d2c.backends.onnx",
}
_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    _BACKENDS[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    if name not in _BACKENDS and name in _MODULES:
        importlib.import_module(_MODULES[name])
    if name not in _BACKENDS:
        raise UsageError(f"unknown backend '{name}'; available: {', '.join(sorted(_MODULES))}")
    return _BACKENDS[name]


def backend_names() -> list[str]:
    return sorted(_MODULES)
