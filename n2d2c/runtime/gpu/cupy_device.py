"""Registers the array kernels for ``device="gpu"`` on cupy (imported only when a GPU
simulator is built: it imports cupy)."""

import cupy

from . import register_device

register_device("gpu", cupy)
