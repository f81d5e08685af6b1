"""Backends registered by name; `n2d2c compile --backend NAME` looks them up here.

A backend declares its options (``BackendOption``: name, default, help), its
default pass pipeline and whether it plans activation memory, so the CLI and
the Python API ask it instead of testing backend names.  C-family targets are
registered through ``n2d2c.backends.c.target.register_target``, which builds a
``Backend`` from a ``CTarget``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import UsageError
from ..ir import Graph
from ..util.flags import boolean_word


@dataclass
class CompileOptions:
    """Options common to every backend; backends read what they need from ``extra``."""

    output_dir: Path
    name: str = "network"
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendOption:
    """One backend option (``-X name=value`` on the CLI, a keyword in Python)."""

    name: str
    default: object
    help: str
    # Accepted values for a text option (compared case-insensitively, '_' read as '-').
    choices: tuple[str, ...] = ()

    def coerce(self, value: object, backend: str) -> object:
        """``value`` as this option's type; CLI values arrive as text."""
        if self.choices:
            text = str(value).strip().lower().replace("_", "-")
            if text not in self.choices:
                raise UsageError(f"option '{self.name}' of backend {backend}: unknown value "
                                 f"{value!r}; expected one of {', '.join(self.choices)}")
            return text
        if not isinstance(value, str) or isinstance(self.default, str) or self.default is None:
            return value
        if isinstance(self.default, bool):
            flag = boolean_word(value)
            if flag is not None:
                return flag
            raise UsageError(f"option '{self.name}' of backend {backend} takes true/false, "
                             f"got {value!r}")
        try:
            return type(self.default)(value)
        except ValueError:
            raise UsageError(f"option '{self.name}' of backend {backend} takes "
                             f"{type(self.default).__name__}, got {value!r}") from None


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    # Pass pipeline run before emission; `n2d2c compile --passes` replaces it.
    default_pipeline: str
    # Writes the generated project into a scratch folder (the caller makes it atomic).
    emit: Callable[[Graph, Path, CompileOptions], None]
    options: tuple[BackendOption, ...] = ()
    # Plans an activation arena: accepts the memory options (--memory-strategy, ...).
    plans_memory: bool = False
    # Quantizes by itself (TensorRT's Q/DQ): with calibration data it gets the float graph,
    # and the quantized one as extra["quantized_graph"] for its scales.
    takes_float_graph: bool = False
    # The option `n2d2c compile --target NAME` sets: the chip or core of a backend for
    # embedded targets (stm32: "mcu"); None where the backend has no such choice.
    target_option: str | None = None

    def option_defaults(self) -> dict[str, object]:
        return {o.name: o.default for o in self.options}

    def resolve_options(self, extra: dict[str, object]) -> dict[str, object]:
        """Every option's value: the defaults updated by ``extra`` (names may use '-'),
        coerced to each option's type; unknown names are one UsageError listing them."""
        by_name = {o.name: o for o in self.options}
        given = {str(k).replace("-", "_"): v for k, v in extra.items()}
        unknown = sorted(set(given) - set(by_name))
        if unknown:
            raise UsageError(f"unknown option(s) for backend {self.name}: {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(by_name)) or 'none'}")
        resolved = self.option_defaults()
        for key, value in given.items():
            resolved[key] = by_name[key].coerce(value, self.name)
        return resolved


# Backend name → module that registers it; imported lazily so that, e.g., a GPU
# backend's imports never run unless it is asked for.
_MODULES = {
    "c": "n2d2c.backends.c.target",
    "cpp": "n2d2c.backends.cpp",
    "dneuro": "n2d2c.backends.dneuro",
    "onnx": "n2d2c.backends.onnx",
    "stm32": "n2d2c.backends.stm32",
    "tensorrt": "n2d2c.backends.tensorrt",
}
_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    _BACKENDS[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    if name not in _BACKENDS and name in _MODULES:
        importlib.import_module(_MODULES[name])
    if name not in _BACKENDS:
        raise UsageError(f"unknown backend '{name}'; available: {', '.join(backend_names())}")
    return _BACKENDS[name]


def backend_names() -> list[str]:
    return sorted(set(_MODULES) | set(_BACKENDS))


def all_backends() -> list[Backend]:
    return [get_backend(name) for name in backend_names()]
