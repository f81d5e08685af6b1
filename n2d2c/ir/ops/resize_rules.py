"""Where a Resize samples its input: ONNX's coordinate transformations.

One rule for every consumer -- the simulator's kernel and the tables the C
backends compute at compile time -- so that they cannot round a nearest-
neighbour tie (``x.5``) differently.  The arithmetic is onnxruntime's: float32
in its operation order, except the last step of ``half_pixel_symmetric``, which
onnxruntime writes with double literals (``(x + 0.5) / scale - 0.5``) and so
evaluates in double before rounding the result to float32.
"""

from __future__ import annotations

import numpy as np

_F = np.float32


def source_coordinates(mode: str, out_len: int, in_len: int, scale: float) -> np.ndarray:
    """Input coordinate (float32) of every output index 0..out_len-1 along one axis.

    ``scale`` is the one the model gave (output/input as a float32), which can
    differ from ``out_len / in_len`` when the output size was rounded down.
    """
    x = np.arange(out_len, dtype=_F)
    s = _F(scale)
    half = _F(0.5)
    if mode == "half_pixel":
        return (x + half) / s - half
    if mode == "half_pixel_symmetric":
        output_width = s * _F(in_len)
        adjustment = _F(out_len) / output_width
        center = _F(in_len) / _F(2)
        offset = center * (_F(1) - adjustment)
        xd = x.astype(np.float64)
        return (np.float64(offset) + (xd + 0.5) / np.float64(s) - 0.5).astype(_F)
    if mode == "pytorch_half_pixel":
        return (x + half) / s - half if out_len > 1 else np.zeros(out_len, _F)
    if mode == "align_corners":
        if out_len == 1:
            return np.zeros(out_len, _F)
        return x * _F(in_len - 1) / _F(out_len - 1)
    if mode == "asymmetric":
        return x / s
    raise ValueError(f"unknown coordinate_transformation_mode {mode!r}")
