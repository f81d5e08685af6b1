"""Integer kernels of the quantized IR: the bit-exact reference for int8/int16 backends.

The arithmetic each kernel implements is specified in ``n2d2c/ir/ops/quant.py``.
Kernels run serially (numba, no ``prange``) and compute in int64, so that they
are deterministic and independent of the thread count; results are cast to the
IR result type by the simulator.
"""

from . import conv, elementwise, linalg, lookup, pool, quant, resize, softmax  # noqa: F401  (registration)
