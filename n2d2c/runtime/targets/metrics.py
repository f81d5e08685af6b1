"""Scores of estimated targets against the data set's targets: success rate, top-N
accuracy, the confusion matrix and, per target, precision, recall (sensitivity),
specificity, informedness, F1 and IoU (N2D2's TargetScore confusion metrics).  Ignored positions (target -1) are left out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ShapeError
from .labels import IGNORE


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 (undefined, not 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), np.nan)


@dataclass
class Scores:
    count: int                  # positions scored (samples, or pixels for segmentation)
    ignored: int
    success_rate: float
    top_n: int
    top_n_rate: float
    confusion: np.ndarray       # [target, estimated] counts
    precision: np.ndarray       # per target; NaN where undefined
    recall: np.ndarray
    f1: np.ndarray
    iou: np.ndarray
    specificity: np.ndarray     # TN / (TN + FP)

    @property
    def informedness(self) -> np.ndarray:
        """Recall + specificity - 1 (Youden's J), one of N2D2's confusion metrics."""
        return self.recall + self.specificity - 1.0

    @property
    def classes(self) -> int:
        return self.confusion.shape[0]

    @property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1)

    @property
    def mean_iou(self) -> float:
        """Mean IoU over the targets that occur (in the data or the estimates)."""
        values = self.iou[~np.isnan(self.iou)]
        return float(values.mean()) if values.size else float("nan")


def score(estimated, targets, classes: int, *, considered=None) -> Scores:
    """Scores of ``estimated`` [M, TopN] (best first) against ``targets`` [M] (output
    indices, -1 ignored) over ``classes`` targets; ``considered`` [M] (masking) drops the
    positions it is False at."""
    est = np.asarray(estimated, dtype=np.int64)
    t = np.asarray(targets, dtype=np.int64).reshape(-1)
    if est.ndim == 1:
        est = est[:, None]
    if est.shape[0] != t.size:
        raise ShapeError(f"{est.shape[0]} estimates for {t.size} targets")
    keep = t != IGNORE
    if considered is not None:
        keep &= np.asarray(considered, bool).reshape(-1)
    ignored = int(t.size - keep.sum())
    est, t = est[keep], t[keep]
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise ShapeError(f"target {int(t[(t < 0) | (t >= classes)][0])} is outside the "
                         f"{classes} outputs")
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (t, est[:, 0]), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    actual = confusion.sum(axis=1)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    f1 = _ratio(2 * tp, predicted + actual)
    iou = _ratio(tp, predicted + actual - tp)
    negatives = confusion.sum() - actual
    specificity = _ratio(negatives - (predicted - tp), negatives)
    count = int(t.size)
    success = float(np.mean(est[:, 0] == t)) if count else float("nan")
    top_n_rate = float(np.mean(np.any(est == t[:, None], axis=1))) if count else float("nan")
    return Scores(count, ignored, success, est.shape[1], top_n_rate, confusion, precision,
                  recall, f1, iou, specificity)
