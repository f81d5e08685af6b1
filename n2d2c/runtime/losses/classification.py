"""Cross-entropy family: cross-entropy (sparse or soft labels), negative log-likelihood,
binary cross-entropy, KL divergence, multinomial logistic / softmax / soft-label softmax
losses, hinge, focal, soft BCE and OHEM cross-entropy.

``scores`` says what ``pred`` holds: "logits" (a log-softmax / log-sigmoid is applied) or
"probabilities" (clamped to [1e-12, 1 - 1e-12] before the log).
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError, UsageError
from .common import (as_float, binary_probabilities, check_choice, class_log_probabilities,
                     class_weights, clamp_probabilities, is_sparse, log_sigmoid, one_hot,
                     reduce, sparse_labels, take_class)


def cross_entropy(pred, target, *, scores="logits", weight=None, ignore_index=None,
                  label_smoothing=0.0, reduction="mean"):
    """-sum_c w_c t_c log p_c with t the (smoothed) one-hot or soft label; PyTorch's
    ``cross_entropy``: the weighted mean divides by the weights of the kept labels."""
    log_p = class_log_probabilities(pred, scores)
    classes = log_p.shape[1]
    w = class_weights(weight, classes).reshape((1, classes) + (1,) * (log_p.ndim - 2))
    if not 0.0 <= label_smoothing <= 1.0:
        raise UsageError(f"label_smoothing={label_smoothing} is outside [0, 1]")
    if not is_sparse(target, log_p):
        soft = as_float(target)
        if soft.shape != log_p.shape:
            raise ShapeError(f"soft labels of shape {soft.shape} for scores of shape "
                             f"{log_p.shape}")
        soft = soft * (1.0 - label_smoothing) + label_smoothing / classes
        return reduce(-np.sum(w * soft * log_p, axis=1), reduction)
    labels, valid = sparse_labels(target, log_p, ignore_index)
    w_label = take_class(np.broadcast_to(w, log_p.shape), labels) * valid
    nll = -take_class(log_p, labels) * w_label
    smooth = -np.sum(w * log_p, axis=1) * valid
    values = (1.0 - label_smoothing) * nll + (label_smoothing / classes) * smooth
    return reduce(values, reduction, weights=w_label)


def nll(pred, target, *, scores="log-probabilities", weight=None, ignore_index=None,
        reduction="mean"):
    """Negative log-likelihood -w_y * pred[y] of log-probabilities (PyTorch's ``nll_loss``);
    scores="probabilities" or "logits" take the log (or log-softmax) first."""
    check_choice("scores", scores, ("log-probabilities", "logits", "probabilities"))
    log_p = as_float(pred) if scores == "log-probabilities" else \
        class_log_probabilities(pred, scores)
    labels, valid = sparse_labels(target, log_p, ignore_index)
    w = take_class(np.broadcast_to(class_weights(weight, log_p.shape[1]).reshape(
        (1, -1) + (1,) * (log_p.ndim - 2)), log_p.shape), labels) * valid
    return reduce(-take_class(log_p, labels) * w, reduction, weights=w)


def binary_cross_entropy(pred, target, *, scores="probabilities", weight=None, pos_weight=None,
                         reduction="mean"):
    """-w [pw * y log p + (1 - y) log(1 - p)]; with logits it is computed from log-sigmoid
    (PyTorch's ``binary_cross_entropy`` and ``binary_cross_entropy_with_logits``)."""
    check_choice("scores", scores, ("logits", "probabilities"))
    x = as_float(pred)
    y = as_float(target)
    if y.shape != x.shape:
        raise ShapeError(f"binary targets of shape {y.shape} for predictions of shape {x.shape}")
    if scores == "logits":
        log_p, log_not_p = log_sigmoid(x), log_sigmoid(-x)
    else:
        p = clamp_probabilities(x)
        log_p, log_not_p = np.log(p), np.log1p(-p)
    pw = 1.0 if pos_weight is None else as_float(pos_weight)
    values = -(pw * y * log_p + (1.0 - y) * log_not_p)
    if weight is not None:
        values = values * as_float(weight)
    return reduce(values, reduction)


def binary_cross_entropy_with_logits(pred, target, *, weight=None, pos_weight=None,
                                     reduction="mean"):
    return binary_cross_entropy(pred, target, scores="logits", weight=weight,
                                pos_weight=pos_weight, reduction=reduction)


def kl_divergence(pred, target, *, scores="log-probabilities", reduction="mean"):
    """sum t (log t - log q): ``pred`` is log q (PyTorch's ``kl_div``: 'mean' averages over
    every element, 'batchmean' over the samples); 0 log 0 = 0."""
    check_choice("reduction", reduction, ("none", "mean", "sum", "batchmean"))
    check_choice("scores", scores, ("log-probabilities", "logits", "probabilities"))
    log_q = as_float(pred) if scores == "log-probabilities" else \
        class_log_probabilities(pred, scores)
    t = as_float(target)
    if is_sparse(target, log_q):
        t = one_hot(sparse_labels(target, log_q)[0], log_q.shape[1])
    values = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1.0)) - log_q), 0.0)
    if reduction == "batchmean":
        return float(np.sum(values)) / values.shape[0]
    return reduce(values, reduction)


def _normalized_weights(weight, log_p: np.ndarray, normalize: str) -> np.ndarray:
    """Class weights as the multinomial logistic loss normalises them: their sum equals what
    equal weights would give, per location ('local'), over the whole tensor ('global'),
    or not at all ('no')."""
    check_choice("normalize", normalize, ("local", "global", "no"))
    shape = log_p.shape
    classes = shape[1]
    if weight is None:
        return np.ones(shape)
    w = as_float(weight)
    if w.ndim == 1:
        w = w.reshape((1, classes) + (1,) * (len(shape) - 2))
    elif w.shape == shape[1:]:
        w = w[None]
    w = np.broadcast_to(w, shape).astype(np.float64)
    if normalize == "local":
        return w * classes / np.sum(w, axis=1, keepdims=True)
    if normalize == "global":
        return w * w.size / np.sum(w)
    return w


def multinomial_logistic(pred, target, *, scores="probabilities", weight=None,
                         normalize="local", reduction="mean"):
    """-w_g log(x_g) of class probabilities; 'mean' averages over the samples and
    locations (every element of the label tensor)."""
    log_p = class_log_probabilities(pred, scores)
    labels, _ = sparse_labels(target, log_p)
    w = take_class(_normalized_weights(weight, log_p, normalize), labels)
    return reduce(-w * take_class(log_p, labels), reduction)


def softmax_loss(pred, target, *, weight=None, normalize="local", reduction="mean"):
    """Softmax then the multinomial logistic loss, computed with log-softmax."""
    return multinomial_logistic(pred, target, scores="logits", weight=weight,
                                normalize=normalize, reduction=reduction)


def softlabel_softmax(pred, target, *, scores="logits", reduction="mean"):
    """-sum_c t_c log(softmax(x)_c) for soft labels t on the simplex: the KL divergence
    D(t || q) up to the entropy of t, which does not depend on the prediction."""
    t = as_float(target)
    log_q = class_log_probabilities(pred, scores)
    if t.shape != log_q.shape:
        raise ShapeError(f"soft labels of shape {t.shape} for scores of shape {log_q.shape}")
    return reduce(-np.sum(t * log_q, axis=1), reduction)


def hinge(pred, target, *, margin=1.0, reduction="mean"):
    """Binary: max(margin - y * pred, 0) with y in {-1, 1} (labels 0/1 are mapped to -1/1).
    Multiclass scores [N, C] with sparse labels: sum_{c != y} max(0, margin - x_y + x_c) / C
    (PyTorch's ``multi_margin_loss``)."""
    x = as_float(pred)
    if x.ndim >= 2 and is_sparse(target, x):
        labels, _ = sparse_labels(target, x)
        x_y = take_class(x, labels)[:, None]
        margins = np.maximum(0.0, margin - x_y + x)
        np.put_along_axis(margins, labels[:, None], 0.0, axis=1)
        return reduce(np.sum(margins, axis=1) / x.shape[1], reduction)
    y = as_float(target)
    if y.shape != x.shape:
        raise ShapeError(f"hinge targets of shape {y.shape} for predictions of shape {x.shape}")
    if np.all((y == 0) | (y == 1)):
        y = 2.0 * y - 1.0
    return reduce(np.maximum(margin - y * x, 0.0), reduction)


def focal(pred, target, *, scores="logits", gamma=2.0, alpha=None, mode=None,
          ignore_index=None, reduction="mean"):
    """Focal loss -alpha_t (1 - p_t)^gamma log p_t.  Binary (``mode="binary"``, or a target
    with the shape of the scores): p from a sigmoid, alpha weighs positives and 1 - alpha
    negatives.  Multiclass (sparse labels): p from a softmax, alpha a weight per class.
    gamma=0 without alpha is the cross-entropy."""
    if mode is None:
        mode = "multiclass" if is_sparse(target, np.asarray(pred)) else "binary"
    check_choice("mode", mode, ("binary", "multiclass"))
    if mode == "binary":
        x = as_float(pred)
        y = as_float(target)
        if y.shape != x.shape:
            raise ShapeError(f"binary targets of shape {y.shape} for scores of shape {x.shape}")
        valid = np.ones(y.shape, bool) if ignore_index is None else y != ignore_index
        y = np.where(valid, y, 0.0)
        if scores == "logits":
            log_p, log_not_p = log_sigmoid(x), log_sigmoid(-x)
        else:
            p = clamp_probabilities(binary_probabilities(x, scores))
            log_p, log_not_p = np.log(p), np.log1p(-p)
        log_pt = y * log_p + (1.0 - y) * log_not_p
        values = -np.power(1.0 - np.exp(log_pt), gamma) * log_pt
        if alpha is not None:
            values = values * (alpha * y + (1.0 - alpha) * (1.0 - y))
        return reduce(values * valid, reduction, weights=valid if ignore_index is not None
                      else None)
    log_p = class_log_probabilities(pred, scores)
    labels, valid = sparse_labels(target, log_p, ignore_index)
    log_pt = take_class(log_p, labels)
    values = -np.power(1.0 - np.exp(log_pt), gamma) * log_pt
    if alpha is not None:
        values = values * class_weights(np.atleast_1d(alpha), log_p.shape[1])[labels]
    return reduce(values * valid, reduction, weights=valid if ignore_index is not None else None)


def soft_bce(pred, target, *, smooth_factor=0.0, ignore_index=None, pos_weight=None,
             scores="logits", reduction="mean"):
    """Binary cross-entropy with label smoothing (targets (1 - y) s + y (1 - s)) and an
    ignored target value; 'mean' averages over the elements that are not ignored."""
    y = as_float(target)
    valid = np.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    soft = (1.0 - y) * smooth_factor + y * (1.0 - smooth_factor)
    values = binary_cross_entropy(pred, np.where(valid, soft, 0.0), scores=scores,
                                  pos_weight=pos_weight, reduction="none") * valid
    return reduce(values, reduction, weights=valid)


def ohem_cross_entropy(pred, target, *, scores="logits", thresh=0.6, min_kept=0, weight=None,
                       ignore_index=255, reduction="mean"):
    """Online hard example mining: the cross-entropy of the elements whose probability of the
    true class is at most a threshold, raised to the ``min_kept``-th smallest probability
    when that is larger (so at least ``min_kept`` elements are kept)."""
    log_p = class_log_probabilities(pred, scores)
    labels, valid = sparse_labels(target, log_p, ignore_index)
    p_true = np.exp(take_class(log_p, labels))
    kept_count = int(valid.sum())
    keep = valid.copy()
    if 0 < kept_count and min_kept <= kept_count:
        threshold = thresh
        if min_kept > 0:
            kth = np.sort(p_true[valid])[min(kept_count, min_kept) - 1]
            threshold = max(threshold, float(kth))
        keep = valid & (p_true <= threshold)
    target_kept = np.where(keep, labels, -1 if ignore_index is None else ignore_index)
    return cross_entropy(log_p, target_kept, scores="logits", weight=weight,
                         ignore_index=-1 if ignore_index is None else ignore_index,
                         reduction=reduction)
