"""Simulator kernels on an array module: cupy on the GPU (``device="gpu"``,
``n2d2c run --device gpu``), numpy for testing them without one (``device="array"``).

Each kernel is ``fn(xp, op, *operands)`` written with the array API numpy and cupy
share (ufuncs, ``matmul``, ``as_strided`` windows), registered once in ``TABLE``
with ``@array_kernel`` and bound to a module by ``register_device``.  Convolutions
are an im2col view times a batched matrix product (cuBLAS on float32, exact int64
products for the integer IR); pooling reduces strided window views; the integer
kernels restate ``n2d2c/ir/integer.py`` on arrays, so they are bit-exact with the
CPU simulator; float results agree within float32 rounding (the CPU kernels
accumulate in float64).  Importing this package imports neither cupy nor numba:
``runtime/registry.py`` loads ``cupy_device`` only when a GPU simulator is built.
"""

from __future__ import annotations

from typing import Callable, Iterable

from ...ir import DType, Operation
from ..registry import FLOAT, kernel

ArrayKernel = Callable[..., object]

# (op class, dtypes or None for any) -> (fn(xp, op, *operands), fused_activation)
TABLE: list[tuple[tuple[type, ...], tuple[DType, ...] | None, ArrayKernel, bool]] = []

KERNEL_MODULES = ("shape_kernels", "float_kernels", "int_kernels", "misc_kernels")


def array_kernel(*op_classes: type[Operation], dtypes: Iterable[DType] | None = FLOAT,
                 fused_activation: bool = False):
    def register(fn: ArrayKernel) -> ArrayKernel:
        TABLE.append((op_classes, None if dtypes is None else tuple(dtypes), fn,
                      fused_activation))
        return fn
    return register


def register_device(device: str, xp) -> None:
    """Register every array kernel for ``device`` on the array module ``xp``."""
    import importlib
    for name in KERNEL_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    for op_classes, dtypes, fn, fused in TABLE:
        def bound(op, *operands, _fn=fn):
            return _fn(xp, op, *operands)
        bound.__name__ = fn.__name__
        kernel(*op_classes, dtypes=dtypes, device=device, fused_activation=fused)(bound)
