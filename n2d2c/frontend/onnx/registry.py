"""Tables from ONNX op type to the code that handles it.

A *converter* turns one ONNX node into IR ops.  A *folder* evaluates a node with
numpy at import time when all of its inputs are known (shape computations,
constant arithmetic).  An op type may have both: Reshape of a weight is folded,
Reshape of an activation is converted.  Op types with only a folder are
"constant-only": they are accepted as long as their inputs are constants.

``static`` lists the input positions that must be known at compile time
(shapes, axes, scales ...); tests use it to turn such graph inputs into
initializers, and errors use it to explain what must be constant.

``any_dtype`` says which run-time inputs may be of any element type (True: all of
them, or a tuple of positions); every other run-time input must be float32, which
the importer checks before the converter runs (io_types.check_operands), so that an
int8 tensor reaching a float-only converter is a clear error, not a wrong graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# Filled by the converter modules when ``load_converters`` imports them.
CONVERTERS: dict[str, Callable] = {}
FOLDERS: dict[str, "Folder"] = {}
STATIC_INPUTS: dict[str, tuple[int, ...]] = {}
# op type -> run-time input positions of any element type (None: every position).
ANY_DTYPE: dict[str, tuple[int, ...] | None] = {}


@dataclass(frozen=True)
class Folder:
    fn: Callable
    # Shape/Size only look at the input's (always static) type, not its data.
    needs_values: bool = True


def converter(*op_types: str, static: tuple[int, ...] = (),
              any_dtype: bool | tuple[int, ...] = False):
    def register(fn):
        for op_type in op_types:
            if op_type in CONVERTERS:
                raise TypeError(f"two converters for ONNX op {op_type}")
            CONVERTERS[op_type] = fn
            if static:
                STATIC_INPUTS[op_type] = tuple(static)
            if any_dtype is True:
                ANY_DTYPE[op_type] = None
            elif any_dtype:
                ANY_DTYPE[op_type] = tuple(any_dtype)
        return fn
    return register


def takes_any_dtype(op_type: str, position: int) -> bool:
    """May run-time input ``position`` of ``op_type``'s converter be of any element type?"""
    if op_type not in ANY_DTYPE:
        return False
    positions = ANY_DTYPE[op_type]
    return positions is None or position in positions


def folder(*op_types: str, static: tuple[int, ...] = (), needs_values: bool = True):
    def register(fn):
        for op_type in op_types:
            if op_type in FOLDERS:
                raise TypeError(f"two folders for ONNX op {op_type}")
            FOLDERS[op_type] = Folder(fn, needs_values)
            if static:
                STATIC_INPUTS[op_type] = tuple(static)
        return fn
    return register


def load_converters() -> None:
    """Import every converter family once (they register themselves)."""
    from . import (conv, elementwise, folding, indexing, logic, math,  # noqa: F401
                   normalization, pooling, reduce, resize, shape_ops)


def supported_ops() -> list[str]:
    load_converters()
    return sorted(set(CONVERTERS) | set(FOLDERS))


def constant_only_ops() -> list[str]:
    load_converters()
    return sorted(set(FOLDERS) - set(CONVERTERS))


def is_supported(domain: str, op_type: str) -> bool:
    load_converters()
    return domain in ("", "ai.onnx") and (op_type in CONVERTERS or op_type in FOLDERS)
