"""Regression losses between a prediction and a target of the same shape: squared
(MSE, and the half-sum-per-sample "square" loss), L1, Huber, smooth L1, and the KL
divergence of a diagonal Gaussian from the standard one."""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError, UsageError
from .common import as_float, reduce


def _pair(pred, target):
    x, y = as_float(pred), as_float(target)
    if x.shape != y.shape:
        raise ShapeError(f"target of shape {y.shape} for a prediction of shape {x.shape}")
    return x, y


def mse(pred, target, *, reduction="mean"):
    """(pred - target)^2 per element (PyTorch's ``mse_loss``)."""
    x, y = _pair(pred, target)
    return reduce((x - y) ** 2, reduction)


def square(pred, target, *, reduction="mean"):
    """||y_i - pred_i||^2 / 2 per sample; 'mean' divides by the batch size N, so the
    default is 1/(2N) sum_i ||y_i - pred_i||^2."""
    x, y = _pair(pred, target)
    per_sample = 0.5 * np.sum(((x - y) ** 2).reshape(x.shape[0] if x.ndim else 1, -1), axis=1)
    return reduce(per_sample, reduction)


def l1(pred, target, *, reduction="mean"):
    x, y = _pair(pred, target)
    return reduce(np.abs(x - y), reduction)


def huber(pred, target, *, delta=1.0, reduction="mean"):
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta) (PyTorch's ``huber_loss``)."""
    if delta <= 0:
        raise UsageError(f"huber delta={delta} must be positive")
    x, y = _pair(pred, target)
    d = np.abs(x - y)
    return reduce(np.where(d <= delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def smooth_l1(pred, target, *, beta=1.0, reduction="mean"):
    """Huber divided by beta: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; beta=0
    is L1 (PyTorch's ``smooth_l1_loss``)."""
    if beta < 0:
        raise UsageError(f"smooth-l1 beta={beta} must not be negative")
    x, y = _pair(pred, target)
    d = np.abs(x - y)
    if beta == 0:
        return reduce(d, reduction)
    return reduce(np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def gaussian_kl(mu, sigma, *, reduction="sum"):
    """KL(N(mu, diag(sigma^2)) || N(0, I)) = 1/2 sum(mu^2 + sigma^2 - 2 log sigma - 1):
    ``mu`` and ``sigma`` (standard deviations, > 0) have the same shape; 'sum' (the
    default) is the divergence of the whole distribution, 'mean' averages over samples."""
    m, s = _pair(mu, sigma)
    if np.any(s <= 0):
        raise UsageError("gaussian-kl: standard deviations must be positive")
    terms = 0.5 * (m * m + s * s - 2.0 * np.log(s) - 1.0)
    if reduction == "mean":
        return float(np.sum(terms)) / (m.shape[0] if m.ndim else 1)
    return reduce(terms, reduction)
