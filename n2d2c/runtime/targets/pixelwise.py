"""Pixel-wise (segmentation) targets: each output pixel of a network whose output is S
times smaller than its input classifies an S x S input macro-pixel (for a non-integer
ratio r = input / output, output x covers input [floor(x r), floor((x + 1) r))).  Its target is the
majority label of the macro-pixel, except that with a weak target (``WeakTarget``) any other
label present takes precedence over the weak one:

* ``weak_target = -1``: any target other than "ignore" wins over ignore;
* ``weak_target = -2``: no weak target (N2D2's default);
* ``weak_target = k >= 0``: any other target wins over target k.

Ties go to the smaller target (ignore, -1, first).
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import ShapeError, UsageError

NO_WEAK_TARGET = -2


def _block_pairs(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """(output index, input index) of every input position of every output position's
    block: output x covers [floor(x r), max(floor(x r) + 1, floor((x + 1) r))) with
    r = size / out (N2D2's rule; one position each when the output is larger)."""
    ratio = size / out
    outs, ins = [], []
    for x in range(out):
        start = math.floor(x * ratio)
        stop = max(start + 1, math.floor((x + 1) * ratio))
        outs += [x] * (stop - start)
        ins += range(start, stop)
    return np.array(outs, np.int64), np.array(ins, np.int64)


def macro_pixel_targets(targets, output_size: tuple[int, int], *,
                        weak_target: int = NO_WEAK_TARGET) -> np.ndarray:
    """[N, Ho, Wo] target of each output pixel from per-pixel targets [N, H, W] (output
    indices, -1 for ignore)."""
    if weak_target < NO_WEAK_TARGET:
        raise UsageError(f"WeakTarget={weak_target}: expected -2 (none), -1 (ignore) or an "
                         f"output index")
    t = np.asarray(targets, dtype=np.int64)
    if t.ndim != 3:
        raise ShapeError(f"pixel-wise targets must be [N, H, W], got shape {t.shape}")
    n, h, w = t.shape
    ho, wo = output_size
    if ho <= 0 or wo <= 0:
        raise ShapeError(f"output {ho}x{wo} has no pixels")
    if t.min(initial=0) < -1:
        raise ShapeError(f"pixel-wise target {int(t.min())}: targets are output indices or -1")
    count = int(t.max(initial=-1)) + 2                 # targets -1..max, shifted to 0..
    out_y, in_y = _block_pairs(h, ho)
    out_x, in_x = _block_pairs(w, wo)
    picked = t[:, in_y][:, :, in_x] + 1                # [N, Py, Px]
    cells = (np.arange(n)[:, None, None] * ho + out_y[None, :, None]) * wo + out_x[None, None, :]
    counts = np.bincount((cells * count + picked).ravel(), minlength=n * ho * wo * count)
    counts = counts.reshape(n, ho, wo, count)
    if weak_target >= -1 and weak_target + 1 < count:
        weak = counts[..., weak_target + 1]
        others = counts.sum(axis=-1) - weak
        counts[..., weak_target + 1] = np.where(others > 0, 0, weak)
    return counts.argmax(axis=-1) - 1
