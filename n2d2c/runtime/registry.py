"""The kernel table: what each IR op *does*, keyed by (device, op class, element type).

Ops are pure data (``n2d2c.ir.ops``); a kernel is a plain function
``fn(op, *operands) -> array | sequence of arrays`` registered with::

    @kernel(ops.Conv2d)                       # float kernels (f32, f16) on the CPU
    def conv2d(op, x, w, b=None): ...

    @kernel(ops.Reshape, dtypes=ANY)          # any element type
    @kernel(ops.Conv2d, dtypes=(DType.I8,))   # a quantized variant, added later

The element type used for the lookup is that of the op's first operand (its
first result for ops without operands, e.g. constants).  Lookup is by exact op
class: a subclass never silently inherits its parent's arithmetic.

Precision: a kernel registered with ``precision="fast"`` (``n2d2c.runtime.fast``:
float32 im2col + BLAS, exact float64 BLAS for integers) replaces the plain kernel
of its key when the simulator runs at the default ``precision="fast"``; with
``precision="reference"`` only the plain kernels run (float64 accumulation).  An
op without a fast kernel runs its plain one at either precision.
"""

from __future__ import annotations

import importlib
from typing import Callable, Iterable

from ..ir import DType, Operation

Kernel = Callable[..., object]

FLOAT: tuple[DType, ...] = (DType.F32, DType.F16)
INTEGER: tuple[DType, ...] = (DType.I8, DType.U8, DType.I16, DType.I32, DType.I64)
ANY = None

DEVICES = ("cpu", "gpu", "array")
PRECISIONS = ("fast", "reference")

# (device, op class, dtype or None for "any", precision or None for every one) -> kernel
_KERNELS: dict[tuple[str, type, DType | None, str | None], Kernel] = {}

# Modules holding the built-in kernels, imported on first lookup so that
# ``import n2d2c.runtime`` stays cheap (numba is only loaded when needed).
_BUILTIN_MODULES = {
    "cpu": (
        "n2d2c.runtime.kernels.conv",
        "n2d2c.runtime.kernels.linalg",
        "n2d2c.runtime.kernels.pool",
        "n2d2c.runtime.kernels.elementwise",
        "n2d2c.runtime.kernels.math",
        "n2d2c.runtime.kernels.logic",
        "n2d2c.runtime.kernels.normalization",
        "n2d2c.runtime.kernels.shape",
        "n2d2c.runtime.kernels.indexing",
        "n2d2c.runtime.kernels.resize",
        "n2d2c.runtime.kernels.softmax",
        "n2d2c.runtime.kernels.detection",
        "n2d2c.runtime.fast",
    ),
    # The same array kernels (runtime/gpu) on cupy, and on numpy to test them anywhere.
    "gpu": ("n2d2c.runtime.gpu.cupy_device",),
    "array": ("n2d2c.runtime.gpu.numpy_device",),
}
_loaded: set[str] = set()


def kernel(*op_classes: type[Operation], dtypes: Iterable[DType] | None = FLOAT,
           device: str = "cpu", fused_activation: bool = False,
           precision: str | None = None) -> Callable[[Kernel], Kernel]:
    """Register the decorated function as the kernel of ``op_classes``.

    ``precision="fast"`` registers it in front of the plain kernel for simulators
    built at that precision (see the module docstring); None serves every precision.

    ``fused_activation`` declares that the kernel applies the op's fused
    ``activation`` attribute itself; the simulator refuses to run an op whose
    activation is set with a kernel that does not.
    """
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}")
    if precision not in (None, "fast"):
        raise ValueError(f"a kernel's precision is None or 'fast', not {precision!r}")
    keys = (None,) if dtypes is None else tuple(dtypes)

    def register(fn: Kernel) -> Kernel:
        if fused_activation:
            fn.fused_activation = True
        for cls in op_classes:
            for dt in keys:
                key = (device, cls, dt, precision)
                if key in _KERNELS and _KERNELS[key] is not fn:
                    raise TypeError(f"{device} {precision or ''} kernel for {cls.__name__} "
                                    f"({dt.value if dt else 'any type'}) registered twice")
                _KERNELS[key] = fn
        return fn

    return register


def load_builtin_kernels(device: str = "cpu") -> None:
    if device in _loaded:
        return
    for module in _BUILTIN_MODULES.get(device, ()):
        importlib.import_module(module)
    _loaded.add(device)


def key_dtype(op: Operation) -> DType:
    """The element type that selects ``op``'s kernel."""
    if op.inputs:
        return op.inputs[0].type.dtype
    return op.outputs[0].type.dtype


def find_kernel(op: Operation, device: str = "cpu", precision: str = "reference") -> Kernel | None:
    """``op``'s kernel: at ``precision="fast"`` its fast kernel where one is
    registered, else (and always at "reference") its plain one."""
    load_builtin_kernels(device)
    cls = type(op)
    dtype = key_dtype(op)
    tags = ("fast", None) if precision == "fast" else (None,)
    for tag in tags:
        fn = _KERNELS.get((device, cls, dtype, tag)) or _KERNELS.get((device, cls, None, tag))
        if fn is not None:
            return fn
    return None


def registered(device: str = "cpu", precision: str | None = None
               ) -> dict[tuple[type, DType | None], Kernel]:
    """A copy of the table for one device (for documentation and tests): the plain
    kernels, or those registered at ``precision`` ("fast")."""
    load_builtin_kernels(device)
    return {(cls, dt): fn for (dev, cls, dt, tag), fn in _KERNELS.items()
            if dev == device and tag == precision}
