"""Pixel-wise (segmentation) targets: each output pixel of a network whose output is S
times smaller than its input classifies an S x S input macro-pixel.  Its target is the
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


def scale_factor(input_size: tuple[int, int], output_size: tuple[int, int]) -> tuple[int, int]:
    """(Sy, Sx): the macro-pixel of each output pixel (a partial last block when the input
    is not a multiple of the output, as with 'same' padding and a stride)."""
    (h, w), (ho, wo) = input_size, output_size
    if ho <= 0 or wo <= 0 or ho > h or wo > w:
        raise ShapeError(f"output {ho}x{wo} cannot classify macro-pixels of an input {h}x{w}")
    sy, sx = math.ceil(h / ho), math.ceil(w / wo)
    if math.ceil(h / sy) != ho or math.ceil(w / sx) != wo:
        raise ShapeError(f"input {h}x{w} is not an integer scaling of output {ho}x{wo}")
    return sy, sx


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
    sy, sx = scale_factor((h, w), (ho, wo))
    if t.min(initial=0) < -1:
        raise ShapeError(f"pixel-wise target {int(t.min())}: targets are output indices or -1")
    count = int(t.max(initial=-1)) + 2                 # targets -1..max, shifted to 0..
    padding = count                                    # one column for the padding
    padded = np.full((n, ho * sy, wo * sx), padding, np.int64)
    padded[:, :h, :w] = t + 1
    blocks = padded.reshape(n, ho, sy, wo, sx).transpose(0, 1, 3, 2, 4).reshape(n, ho, wo, -1)
    offsets = np.arange(n * ho * wo).reshape(n, ho, wo, 1) * (count + 1)
    counts = np.bincount((blocks + offsets).ravel(), minlength=n * ho * wo * (count + 1))
    counts = counts.reshape(n, ho, wo, count + 1)[..., :count]
    if weak_target >= -1 and weak_target + 1 < count:
        weak = counts[..., weak_target + 1]
        others = counts.sum(axis=-1) - weak
        counts[..., weak_target + 1] = np.where(others > 0, 0, weak)
    return counts.argmax(axis=-1) - 1
