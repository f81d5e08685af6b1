"""Overlap (region) losses for segmentation and classification: Dice, Jaccard (IoU),
Tversky, focal Tversky and the Lovász-softmax surrogate of the IoU.

The scores become class probabilities (softmax of logits over axis 1; one output channel
is a binary task: sigmoid, and its two classes are 1 - p and p).  Sparse labels
``[N, *spatial]`` (or one-hot targets) select the true class; elements with label
``ignore_index`` are left out.  Soft counts are summed over the whole batch per class
(``per_image=true``: per sample), and the loss is the mean over classes of 1 - score,
counting only the classes present in the target when ``classes="present"``.
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from .common import (as_float, binary_probabilities, check_choice, class_probabilities,
                     is_sparse, one_hot, reduce, sparse_labels)


def _probabilities_and_one_hot(pred, target, scores, ignore_index):
    """(P, Y, valid): probabilities and one-hot targets [N, C, *spatial] (zero where
    ignored) and the valid mask [N, *spatial]."""
    x = as_float(pred)
    if x.ndim < 2:
        raise ShapeError(f"scores of shape {x.shape}: expected [N, C, ...]")
    if x.shape[1] == 1:                                   # binary: one sigmoid output
        p = binary_probabilities(x, scores)
        probabilities = np.concatenate([1.0 - p, p], axis=1)
        if not is_sparse(target, x):
            target = np.asarray(target).reshape(x.shape[:1] + x.shape[2:])
        probe = probabilities
    else:
        probabilities = class_probabilities(x, scores)
        probe = x
    if is_sparse(target, probe):
        labels, valid = sparse_labels(target, probabilities, ignore_index)
        y = one_hot(labels, probabilities.shape[1])
    else:
        y = as_float(target)
        if y.shape != probabilities.shape:
            raise ShapeError(f"targets of shape {y.shape} for scores of shape {x.shape}")
        valid = np.ones(y.shape[:1] + y.shape[2:], bool)
    mask = valid[:, None]
    return probabilities * mask, y * mask, valid


def _class_counts(p, y, per_image):
    """Soft true positives, false positives and false negatives per class ([C], or
    [N, C] per image)."""
    axes = tuple(i for i in range(p.ndim) if i != 1 and (i != 0 or not per_image))
    tp = np.sum(p * y, axis=axes)
    fp = np.sum(p * (1.0 - y), axis=axes)
    fn = np.sum((1.0 - p) * y, axis=axes)
    return tp, fp, fn, np.sum(y, axis=axes)


def _mean_over_classes(per_class, present, classes, reduction):
    check_choice("classes", classes, ("all", "present"))
    if classes == "present":
        per_class = np.where(present > 0, per_class, np.nan)
    with np.errstate(invalid="ignore"):
        values = np.nanmean(per_class, axis=-1) if np.any(~np.isnan(per_class)) else \
            np.zeros(per_class.shape[:-1])
    return reduce(np.asarray(values), reduction)


def tversky(pred, target, *, scores="logits", alpha=0.5, beta=0.5, gamma=1.0, smooth=0.0,
            eps=1e-7, ignore_index=None, per_image=False, classes="present", reduction="mean"):
    """1 - TI with TI = (TP + smooth) / (TP + alpha FP + beta FN + smooth), raised to
    ``gamma`` (the focal Tversky loss); alpha = beta = 0.5 is Dice, 1 is Jaccard."""
    p, y, _ = _probabilities_and_one_hot(pred, target, scores, ignore_index)
    tp, fp, fn, present = _class_counts(p, y, per_image)
    index = (tp + smooth) / np.maximum(tp + alpha * fp + beta * fn + smooth, eps)
    return _mean_over_classes((1.0 - index) ** gamma, present, classes,
                              reduction if per_image else ("mean" if reduction == "none"
                                                           else reduction))


def dice(pred, target, *, scores="logits", smooth=0.0, eps=1e-7, ignore_index=None,
         per_image=False, classes="present", reduction="mean"):
    """1 - 2 |P ∩ Y| / (|P| + |Y|) per class (soft counts)."""
    return tversky(pred, target, alpha=0.5, beta=0.5, gamma=1.0, scores=scores, smooth=smooth,
                   eps=eps, ignore_index=ignore_index, per_image=per_image, classes=classes,
                   reduction=reduction)


def jaccard(pred, target, *, scores="logits", smooth=0.0, eps=1e-7, ignore_index=None,
            per_image=False, classes="present", reduction="mean"):
    """1 - |P ∩ Y| / |P ∪ Y| per class (soft counts)."""
    return tversky(pred, target, alpha=1.0, beta=1.0, gamma=1.0, scores=scores, smooth=smooth,
                   eps=eps, ignore_index=ignore_index, per_image=per_image, classes=classes,
                   reduction=reduction)


def focal_tversky(pred, target, *, scores="logits", alpha=0.7, beta=0.3, gamma=0.75,
                  smooth=0.0, eps=1e-7, ignore_index=None, per_image=False, classes="present",
                  reduction="mean"):
    """(1 - TI)^gamma: Tversky weighing false positives by alpha and false negatives by
    beta (defaults of the focal Tversky paper: 0.7 / 0.3, gamma 0.75)."""
    return tversky(pred, target, alpha=alpha, beta=beta, gamma=gamma, scores=scores,
                   smooth=smooth, eps=eps, ignore_index=ignore_index, per_image=per_image,
                   classes=classes, reduction=reduction)


def _lovasz_jaccard(errors: np.ndarray, foreground: np.ndarray) -> float:
    """The Lovász extension of the Jaccard loss at ``errors`` (1-D): errors sorted in
    decreasing order, dotted with the increments of the Jaccard loss of the growing set
    of mispredicted elements."""
    order = np.argsort(-errors, kind="stable")
    fg = foreground[order]
    total = fg.sum()
    intersection = total - np.cumsum(fg)
    union = total + np.cumsum(1.0 - fg)
    jaccard_loss = 1.0 - intersection / union
    increments = np.diff(jaccard_loss, prepend=0.0)
    return float(np.dot(errors[order], increments))


def lovasz_softmax(pred, target, *, scores="logits", ignore_index=None, per_image=False,
                   classes="present", reduction="mean"):
    """Lovász-softmax: per class, the Lovász extension of the Jaccard loss of the errors
    |[y = c] - p_c| over the (valid) elements; the mean over classes (and over images when
    ``per_image``)."""
    check_choice("classes", classes, ("all", "present"))
    p, y, valid = _probabilities_and_one_hot(pred, target, scores, ignore_index)
    groups = [(p[n:n + 1], y[n:n + 1], valid[n:n + 1]) for n in range(p.shape[0])] \
        if per_image else [(p, y, valid)]
    losses = []
    for pg, yg, vg in groups:
        per_class = []
        for c in range(pg.shape[1]):
            fg = yg[:, c][vg]
            if classes == "present" and fg.sum() == 0:
                continue
            per_class.append(_lovasz_jaccard(np.abs(fg - pg[:, c][vg]), fg))
        losses.append(np.mean(per_class) if per_class else 0.0)
    return reduce(np.asarray(losses), reduction if per_image else
                  ("mean" if reduction == "none" else reduction))
