"""n2d2c: compile N2D2 INI and ONNX networks to fast, dependency-free code.

Library use::

    import n2d2c
    graph = n2d2c.load("model.onnx")
    outputs = n2d2c.run(graph, {"input": x})
    result = n2d2c.compile("model.onnx", output_dir="out/", backend="cpp")
    result.arena_bytes, [f.path for f in result.files]
    n2d2c.compile("model.onnx", output_dir="fw/", backend="stm32", options={"mcu": "cortex-m4"},
                  calibration="calib.npz", quantization={"nbbits": 8})
    n2d2c.Pipeline.parse("fuse-bn,fuse-padding").run(graph)
"""

from __future__ import annotations

from .api import CompileResult, GeneratedFile, compile, evaluate, load, run  # noqa: A004
from .errors import N2D2CError
from .passes.registry import declare_pass
from .version import __version__

# Passes of higher layers, imported when a pipeline first names them (passes/registry.py).
declare_pass("plan-memory", "n2d2c.backends.c.plan_pass")
declare_pass("quantize", "n2d2c.quantization.quantize_pass")

# Imported on first use: the pass and quantization packages cost time at import.
_LAZY = {"Pipeline": "n2d2c.passes", "QuantizationOptions": "n2d2c.quantization.options"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'n2d2c' has no attribute {name!r}")


__all__ = ["CompileResult", "GeneratedFile", "N2D2CError", "Pipeline", "QuantizationOptions",
           "__version__", "compile", "evaluate", "load", "run"]
