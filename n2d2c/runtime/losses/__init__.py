"""Loss functions (numpy, vectorised, numerically stable), selectable by name.

    from n2d2c.runtime.losses import get_loss, LOSSES
    loss = get_loss("focal{gamma=2}")          # a configured Loss
    value = loss(scores, labels, scores_kind="probabilities")

Each function also stands alone (``cross_entropy(pred, target, reduction="none")``).
Scores are ``[N, C, *spatial]``; see ``common`` for the layout of targets.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from ...errors import UsageError
from .boundary import boundary
from .classification import (binary_cross_entropy, binary_cross_entropy_with_logits,
                             cross_entropy, focal, hinge, kl_divergence, multinomial_logistic,
                             nll, ohem_cross_entropy, soft_bce, softlabel_softmax,
                             softmax_loss)
from .overlap import dice, focal_tversky, jaccard, lovasz_softmax, tversky
from .regression import gaussian_kl, huber, l1, mse, smooth_l1, square
from .spec import parse_loss_spec

#: What a loss reads from the network: "scores" (logits or probabilities, said by the
#: ``scores`` option), "logits" (always), "values" (a regression target of the output's
#: shape) or "gaussian" (means and standard deviations: not a classifier's output).
READS = ("scores", "logits", "values", "gaussian")


@dataclass(frozen=True)
class LossKind:
    name: str
    function: Callable
    reads: str
    dense_target: bool          # the target has the scores' shape (one-hot / soft labels)
    summary: str
    aliases: tuple[str, ...] = ()

    def parameters(self) -> list[str]:
        return [p for p, v in inspect.signature(self.function).parameters.items()
                if v.kind == v.KEYWORD_ONLY]


def _kind(name, function, reads, summary, *, dense=False, aliases=()):
    return LossKind(name, function, reads, dense, summary, tuple(aliases))


def duo(pred, target, *, first="lovasz-softmax", second="boundary", weights=(1.0, 1.0),
        scores="logits", reduction="mean"):
    """weights[0] * first + weights[1] * second: two losses (specifications, so they may
    carry options: first="focal{gamma=2}") on the same prediction (default: Lovász-softmax
    and the boundary loss)."""
    if reduction == "none":
        raise UsageError("duo: reduction='none' is not defined (the two losses' per-element "
                         "shapes differ)")
    if len(weights) != 2:
        raise UsageError(f"duo: weights must be two numbers, got {weights}")
    total = 0.0
    for spec, weight in zip((first, second), weights):
        loss = get_loss(spec)
        total += weight * loss(pred, target, scores_kind=scores, reduction=reduction)
    return total


_KINDS = [
    _kind("cross-entropy", cross_entropy, "scores",
          "-sum w_c t_c log p_c (sparse or soft labels, weight, ignore-index, label-smoothing)",
          aliases=("ce", "categorical-cross-entropy")),
    _kind("nll", nll, "scores", "negative log-likelihood -w_y log p_y",
          aliases=("negative-log-likelihood",)),
    _kind("bce", binary_cross_entropy, "scores",
          "binary cross-entropy of probabilities (weight, pos-weight)", dense=True,
          aliases=("binary-cross-entropy",)),
    _kind("bce-with-logits", binary_cross_entropy_with_logits, "logits",
          "binary cross-entropy of logits (log-sigmoid, stable)", dense=True),
    _kind("kl-div", kl_divergence, "scores", "KL divergence sum t (log t - log q)",
          dense=True, aliases=("kl-divergence",)),
    _kind("multinomial-logistic", multinomial_logistic, "scores",
          "-w_g log x_g of probabilities (weights normalised local/global/no)"),
    _kind("softmax-loss", softmax_loss, "logits", "softmax then multinomial logistic"),
    _kind("softlabel-softmax", softlabel_softmax, "scores",
          "-sum t_c log softmax(x)_c for soft labels", dense=True),
    _kind("hinge", hinge, "logits", "max(margin - y x, 0); multiclass margin loss"),
    _kind("mse", mse, "values", "mean squared error (L2)", aliases=("l2",)),
    _kind("square", square, "values", "1/(2N) sum ||y - x||^2"),
    _kind("l1", l1, "values", "mean absolute error", aliases=("mae",)),
    _kind("huber", huber, "values", "Huber loss (delta)"),
    _kind("smooth-l1", smooth_l1, "values", "smooth L1 (beta)"),
    _kind("gaussian-kl", gaussian_kl, "gaussian", "KL(N(mu, sigma^2) || N(0, 1))"),
    _kind("focal", focal, "scores", "-alpha (1 - p_t)^gamma log p_t (binary or multiclass)"),
    _kind("dice", dice, "scores", "1 - soft Dice per class"),
    _kind("jaccard", jaccard, "scores", "1 - soft IoU per class", aliases=("iou",)),
    _kind("tversky", tversky, "scores", "1 - Tversky index (alpha FP, beta FN)"),
    _kind("focal-tversky", focal_tversky, "scores", "(1 - Tversky index)^gamma"),
    _kind("lovasz-softmax", lovasz_softmax, "scores", "Lovász extension of the IoU loss",
          aliases=("lovasz",)),
    _kind("ohem", ohem_cross_entropy, "scores",
          "cross-entropy of the hard examples (thresh, min-kept)",
          aliases=("ohem-cross-entropy",)),
    _kind("soft-bce", soft_bce, "logits",
          "BCE with logits, label smoothing (smooth-factor) and ignore-index", dense=True),
    _kind("boundary", boundary, "scores", "1 - boundary F1 (theta0, theta)"),
    _kind("duo", duo, "scores", "weighted sum of two losses (first, second, weights)"),
]

LOSSES: dict[str, LossKind] = {k.name: k for k in _KINDS}
_ALIASES = {alias: k.name for k in _KINDS for alias in (k.name, *k.aliases)}
for _k in _KINDS:
    _ALIASES[_k.name.replace("-", "_")] = _k.name


@dataclass(frozen=True)
class Loss:
    """A loss kind with its options (what ``--loss name{...}`` selects)."""
    kind: LossKind
    options: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.kind.name

    def __str__(self) -> str:
        if not self.options:
            return self.name
        return self.name + "{" + ",".join(f"{k.replace('_', '-')}={v}"
                                          for k, v in self.options.items()) + "}"

    def __call__(self, pred, target, *, scores_kind: str | None = None, **overrides):
        """The loss of ``pred``; ``scores_kind`` ("logits" / "probabilities") fills the
        ``scores`` option unless the specification set it."""
        options = {**self.options, **overrides}
        if scores_kind is not None and "scores" in self.kind.parameters():
            options.setdefault("scores", scores_kind)
        return self.kind.function(pred, target, **options)


def loss_kind(name: str) -> LossKind:
    canonical = _ALIASES.get(name) or _ALIASES.get(name.lower())
    if canonical is None:
        raise UsageError(f"unknown loss '{name}'", hint="known losses: " + ", ".join(LOSSES))
    return LOSSES[canonical]


def get_loss(spec: str) -> Loss:
    """The Loss of a specification ``name{option=value,...}``; unknown options are an
    error that lists the loss's options."""
    name, options = parse_loss_spec(spec)
    kind = loss_kind(name)
    known = kind.parameters()
    for key in options:
        if key not in known:
            raise UsageError(f"loss '{kind.name}' has no option '{key.replace('_', '-')}'",
                             hint=f"options of '{kind.name}': " +
                             ", ".join(k.replace("_", "-") for k in known))
    return Loss(kind, options)


__all__ = ["LOSSES", "Loss", "LossKind", "READS", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "boundary", "cross_entropy", "dice", "duo",
           "focal", "focal_tversky", "gaussian_kl", "get_loss", "hinge", "huber", "jaccard",
           "kl_divergence", "l1", "loss_kind", "lovasz_softmax", "mse", "multinomial_logistic",
           "nll", "ohem_cross_entropy", "parse_loss_spec", "smooth_l1", "soft_bce",
           "softlabel_softmax", "softmax_loss", "square", "tversky"]
