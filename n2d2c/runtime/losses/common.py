"""Shared pieces of the loss functions: reductions, stable log-softmax / log-sigmoid,
label handling.

Layout (PyTorch's): scores are ``[N, C, *spatial]`` with the class axis 1; sparse labels
are integers ``[N, *spatial]``; dense targets (one-hot, soft labels, regression values)
have the shape of the scores.
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError, UsageError

REDUCTIONS = ("none", "mean", "sum")
SCORES = ("logits", "probabilities")
#: Probabilities are clamped to [EPS, 1 - EPS] before a log (float64 keeps 1 - EPS exact).
EPS = 1e-12


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise UsageError(f"{name}={value!r} is not one of {', '.join(map(str, choices))}")
    return value


def reduce(values: np.ndarray, reduction: str, *, weights: np.ndarray | None = None):
    """'none': the per-element values; 'sum'; 'mean': divided by the count of elements,
    or by the sum of ``weights`` when given (PyTorch's weighted mean)."""
    check_choice("reduction", reduction, REDUCTIONS)
    if reduction == "none":
        return values
    total = float(np.sum(values))
    if reduction == "sum":
        return total
    denominator = float(np.sum(weights)) if weights is not None else values.size
    return total / denominator if denominator else float("nan")


def as_float(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def log_softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)   # log-sum-exp trick: no overflow
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = 1) -> np.ndarray:
    return np.exp(log_softmax(x, axis))


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log(sigmoid(x)) = -log(1 + exp(-x)), without overflow for either sign."""
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(log_sigmoid(x))


def clamp_probabilities(p: np.ndarray) -> np.ndarray:
    return np.clip(p, EPS, 1.0 - EPS)


def class_log_probabilities(pred, scores: str) -> np.ndarray:
    """log p over the class axis from logits (log-softmax) or probabilities (clamped log)."""
    check_choice("scores", scores, SCORES)
    pred = as_float(pred)
    if pred.ndim < 2:
        raise ShapeError(f"scores of shape {pred.shape}: expected [N, C, ...] with the classes "
                         f"on axis 1")
    return log_softmax(pred) if scores == "logits" else np.log(clamp_probabilities(pred))


def class_probabilities(pred, scores: str) -> np.ndarray:
    return np.exp(class_log_probabilities(pred, scores))


def binary_probabilities(pred, scores: str) -> np.ndarray:
    check_choice("scores", scores, SCORES)
    pred = as_float(pred)
    return sigmoid(pred) if scores == "logits" else np.clip(pred, 0.0, 1.0)


def sparse_labels(target, pred: np.ndarray, ignore_index: int | None = None):
    """(labels, valid mask) of integer labels ``[N, *spatial]`` for scores ``pred``; ignored
    labels are replaced by 0 so that they can index (their mask is False)."""
    labels = np.asarray(target)
    if labels.shape != pred.shape[:1] + pred.shape[2:]:
        raise ShapeError(f"labels of shape {labels.shape} do not match scores of shape "
                         f"{pred.shape} (expected {pred.shape[:1] + pred.shape[2:]})")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ShapeError("sparse labels must be integers (class indices)")
        labels = labels.astype(np.int64)
    valid = np.ones(labels.shape, bool) if ignore_index is None else labels != ignore_index
    classes = pred.shape[1]
    bad = valid & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise ShapeError(f"label {int(labels[bad][0])} is outside the {classes} classes of the "
                         f"scores" + ("" if ignore_index is None else
                                      f" (and is not ignore_index={ignore_index})"))
    return np.where(valid, labels, 0).astype(np.int64), valid


def take_class(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """values[n, labels[n, ...], ...]: the entry of each element's class."""
    return np.take_along_axis(values, labels[:, None], axis=1)[:, 0]


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """[N, *spatial] integer labels -> [N, C, *spatial] float one-hot."""
    encoded = np.eye(classes)[labels]                      # [N, *spatial, C]
    return np.moveaxis(encoded, -1, 1)


def is_sparse(target, pred: np.ndarray) -> bool:
    """Whether ``target`` holds class indices (one axis less than the scores)."""
    return np.ndim(target) == pred.ndim - 1


def class_weights(weight, classes: int) -> np.ndarray:
    if weight is None:
        return np.ones(classes)
    w = as_float(weight).reshape(-1)
    if w.size != classes:
        raise ShapeError(f"{w.size} class weights for {classes} classes")
    return w
