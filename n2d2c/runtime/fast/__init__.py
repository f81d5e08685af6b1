"""The simulator's fast path (``Simulator(..., precision="fast")``, the default).

Float convolutions, dense products and pooling in float32 through numpy's BLAS
(im2col columns built with one strided copy per kernel tap, then one matrix
product per sample and group); integer convolutions and dense products through
float64 BLAS where every partial sum is provably below 2**53 (hence exact), else
the direct int64 kernels.  Every other op keeps its plain kernel.  The
float64-accumulating kernels of ``n2d2c.runtime.kernels`` stay the reference
(``precision="reference"``, ``n2d2c run --reference-precision``).

Each product is formed one sample at a time with the shapes of a batch-1 run, so
a batch of N gives bit-identical results to N single runs (BLAS may sum in
another order for another matrix shape, e.g. a matrix-vector product).
"""

from . import conv, elementwise, integer, linalg, pool  # noqa: F401  (register on import)
