"""ONNX frontend: .onnx files (opsets 6 to current) to verified IR graphs.

    from n2d2c.frontend.onnx import load_onnx
    graph = load_onnx("model.onnx", input_shapes={"input": (1, 3, 224, 224)})

Each ONNX op family has its own converter module (conv, elementwise, pooling,
normalization, shape_ops, resize); shape computations on constants are
evaluated at import (folding); loader and external_data check the files.
"""

from .importer import DEFAULT_MAX_CONSTANT_BYTES, describe_unsupported, load_onnx
from .registry import STATIC_INPUTS, constant_only_ops, supported_ops

SUPPORTED_OPS: list[str] = supported_ops()
CONSTANT_ONLY_OPS: list[str] = constant_only_ops()

__all__ = ["CONSTANT_ONLY_OPS", "DEFAULT_MAX_CONSTANT_BYTES", "STATIC_INPUTS", "SUPPORTED_OPS",
           "describe_unsupported", "load_onnx"]
