"""Boundary loss for segmentation (Bokhovkin et al., "Boundary Loss for Remote Sensing
Imagery Semantic Segmentation"): 1 - the boundary F1 score per image and class.

Boundaries are the pixels a ``theta0`` x ``theta0`` max filter of the background map
(1 - class map) raises; the precision counts predicted boundary mass within ``theta``
pixels (a second max filter) of a true boundary, the recall the converse.
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError, UsageError
from .common import as_float, class_probabilities, one_hot, reduce, sparse_labels

EPS = 1e-7


def max_filter(maps: np.ndarray, size: int) -> np.ndarray:
    """Centred ``size`` x ``size`` maximum over the last two axes, stride 1, the border
    padded with -inf (so the output has the input's size)."""
    pad = (size - 1) // 2
    padded = np.pad(maps, [(0, 0)] * (maps.ndim - 2) + [(pad, pad), (pad, pad)],
                    constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(-2, -1))
    return windows.max(axis=(-2, -1))


def boundary(pred, target, *, scores="logits", theta0=3, theta=5, ignore_index=None,
             reduction="mean"):
    """Mean over images and classes of 1 - BF1 (``reduction="none"``: [N, C]).  Pixels
    labelled ``ignore_index`` take the predicted class, so they add no boundary."""
    if theta0 < 1 or theta < 1 or theta0 % 2 == 0 or theta % 2 == 0:
        raise UsageError(f"boundary loss: theta0={theta0} and theta={theta} must be odd and "
                         f"positive (centred windows)")
    x = as_float(pred)
    if x.ndim != 4:
        raise ShapeError(f"boundary loss needs scores [N, C, H, W], got shape {x.shape}")
    p = class_probabilities(x, scores)
    labels, valid = sparse_labels(target, p, ignore_index)
    labels = np.where(valid, labels, p.argmax(axis=1))
    y = one_hot(labels, p.shape[1])
    true_edges = max_filter(1.0 - y, theta0) - (1.0 - y)
    predicted_edges = max_filter(1.0 - p, theta0) - (1.0 - p)
    true_near = max_filter(true_edges, theta)
    predicted_near = max_filter(predicted_edges, theta)
    precision = np.sum(predicted_edges * true_near, axis=(2, 3)) / \
        (np.sum(predicted_edges, axis=(2, 3)) + EPS)
    recall = np.sum(predicted_near * true_edges, axis=(2, 3)) / \
        (np.sum(true_edges, axis=(2, 3)) + EPS)
    bf1 = 2.0 * precision * recall / (precision + recall + EPS)
    return reduce(1.0 - bf1, reduction)
