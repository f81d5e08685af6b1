"""Built-in CPU kernels, one op family per module.

Conventions shared by every kernel:

* a kernel never writes to its operands (they may be feeds or constants);
* numba functions take C-contiguous float32 arrays and plain int/float
  scalars only, so each is compiled once (``cache=True`` keeps the machine code
  between processes);
* sums (convolutions, pooling, normalisation, dense products) accumulate in
  float64 and round once to float32 at the end: the simulator is the reference
  that generated code is compared against, so it aims to be closer to the exact
  result than any float32 implementation.
"""

# Integer kernels of the quantized IR (n2d2c/ir/ops/quant.py) register on import.
from . import integer  # noqa: E402,F401
