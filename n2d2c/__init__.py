"""n2d2c: compile N2D2 INI and ONNX networks to fast, dependency-free code.

Library use::

    import n2d2c
    graph = n2d2c.load("model.onnx")
    outputs = n2d2c.run(graph, {"input": x})
    n2d2c.compile(graph, "out/", backend="cpp")
"""

from __future__ import annotations

from .api import compile, load, run  # noqa: A004
from .errors import N2D2CError
from .passes.registry import declare_pass
from .version import __version__

# Passes of higher layers, imported when a pipeline first names them (passes/registry.py).
declare_pass("plan-memory", "n2d2c.backends.c.plan_pass")
declare_pass("quantize", "n2d2c.quantization.quantize_pass")

__all__ = ["N2D2CError", "__version__", "compile", "load", "run"]
