"""Registers the array kernels for ``device="array"`` on numpy: the GPU simulator's
code paths, run on the CPU, so that they are tested on machines without a GPU."""

import numpy

from . import register_device

register_device("array", numpy)
