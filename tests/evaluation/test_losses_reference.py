"""Losses without a PyTorch counterpart, against direct per-element loops on tiny inputs
and closed forms; and the loss specification syntax."""

from __future__ import annotations

import math

import numpy as np
import pytest

from n2d2c.errors import ShapeError, UsageError
from n2d2c.runtime import losses as L

RNG = np.random.default_rng(3)


def softmax_row(row):
    e = [math.exp(v - max(row)) for v in row]
    return [v / sum(e) for v in e]


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def test_multinomial_logistic_weights_and_normalisation():
    p = L.common.softmax(RNG.normal(size=(3, 4, 2)))     # [N, C, W]
    labels = np.array([[0, 3], [2, 2], [1, 0]])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    expected = {}
    for mode in ("no", "local", "global"):
        total = 0.0
        for n in range(3):
            for x in range(2):
                g = labels[n, x]
                weight = w[g] * (4 / w.sum() if mode == "local" else
                                 (3 * 4 * 2) / (w.sum() * 6) if mode == "global" else 1)
                total += -weight * math.log(p[n, g, x])
        expected[mode] = total / 6
        assert L.multinomial_logistic(p, labels, weight=w, normalize=mode) == \
            pytest.approx(expected[mode], rel=1e-12)
    # equal weights, whatever the normalisation, are no weights
    assert L.multinomial_logistic(p, labels, weight=np.full(4, 5.0)) == \
        pytest.approx(L.multinomial_logistic(p, labels), rel=1e-12)
    logits = np.log(p) + 7.0
    assert L.softmax_loss(logits, labels, weight=w) == pytest.approx(expected["local"], rel=1e-9)


def test_softlabel_softmax_is_kl_plus_target_entropy():
    x = RNG.normal(size=(4, 3))
    soft = L.common.softmax(RNG.normal(size=(4, 3)))
    loop = 0.0
    for n in range(4):
        q = softmax_row(list(x[n]))
        loop += -sum(soft[n, c] * math.log(q[c]) for c in range(3))
    value = L.softlabel_softmax(x, soft)
    assert value == pytest.approx(loop / 4, rel=1e-12)
    entropy = -np.sum(soft * np.log(soft)) / 4
    kl = L.kl_divergence(np.log(L.common.softmax(x)), soft, reduction="batchmean")
    assert value == pytest.approx(kl + entropy, rel=1e-12)


def test_binary_hinge_and_square():
    x = np.array([0.3, -2.0, 1.5, 0.9])
    y = np.array([1, 0, 0, 1])          # 0/1 labels mean -1/+1
    signs = [1, -1, -1, 1]
    loop = [max(1 - s * v, 0.0) for s, v in zip(signs, x)]
    assert L.hinge(x, y) == pytest.approx(sum(loop) / 4)
    assert L.hinge(x, np.array(signs, float), reduction="sum") == pytest.approx(sum(loop))
    a, b = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))
    assert L.square(a, b) == pytest.approx(sum(((a - b) ** 2).ravel()) / (2 * 3))


def test_focal_binary_and_multiclass_loops():
    x = RNG.normal(size=(3, 2)) * 2
    y = np.array([[1, 0], [0, 0], [1, 1]], float)
    loop = 0.0
    for v, target in zip(x.ravel(), y.ravel()):
        p = sigmoid(v)
        pt = p if target else 1 - p
        a = 0.25 if target else 0.75
        loop += -a * (1 - pt) ** 2 * math.log(pt)
    assert L.focal(x, y, gamma=2.0, alpha=0.25) == pytest.approx(loop / 6, rel=1e-12)
    logits = RNG.normal(size=(4, 3))
    labels = np.array([2, 0, 1, 1])
    alpha = [0.2, 0.3, 0.5]
    loop = 0.0
    for n in range(4):
        pt = softmax_row(list(logits[n]))[labels[n]]
        loop += -alpha[labels[n]] * (1 - pt) ** 1.5 * math.log(pt)
    assert L.focal(logits, labels, gamma=1.5, alpha=alpha, reduction="sum") == \
        pytest.approx(loop, rel=1e-12)


def _soft_counts(p, labels, classes):
    """Per class (TP, FP, FN) with plain loops over [N, C, W] probabilities."""
    counts = []
    for c in range(classes):
        tp = fp = fn = 0.0
        for n in range(p.shape[0]):
            for w in range(p.shape[2]):
                fg = 1.0 if labels[n, w] == c else 0.0
                tp += p[n, c, w] * fg
                fp += p[n, c, w] * (1 - fg)
                fn += (1 - p[n, c, w]) * fg
        counts.append((tp, fp, fn, c in labels))
    return counts


def test_dice_jaccard_tversky_loops():
    logits = RNG.normal(size=(2, 4, 5))
    labels = np.array([[0, 1, 1, 2, 0], [2, 2, 1, 0, 0]])     # class 3 absent
    p = L.common.softmax(logits)
    counts = _soft_counts(p, labels, 4)
    present = [c for c in counts if c[3]]
    dice = np.mean([1 - 2 * tp / (2 * tp + fp + fn) for tp, fp, fn, _ in present])
    jac = np.mean([1 - tp / (tp + fp + fn) for tp, fp, fn, _ in present])
    tv = np.mean([1 - tp / (tp + 0.7 * fp + 0.3 * fn) for tp, fp, fn, _ in present])
    ftv = np.mean([(1 - tp / (tp + 0.7 * fp + 0.3 * fn)) ** 0.75 for tp, fp, fn, _ in present])
    assert L.dice(logits, labels) == pytest.approx(dice, rel=1e-12)
    assert L.jaccard(logits, labels) == pytest.approx(jac, rel=1e-12)
    assert L.tversky(logits, labels, alpha=0.7, beta=0.3) == pytest.approx(tv, rel=1e-12)
    assert L.focal_tversky(logits, labels) == pytest.approx(ftv, rel=1e-12)
    every = np.mean([1 - 2 * tp / (2 * tp + fp + fn) for tp, fp, fn, _ in counts])
    assert L.dice(logits, labels, classes="all") == pytest.approx(every, rel=1e-9)
    # a perfect one-hot prediction has no overlap loss
    perfect = np.moveaxis(np.eye(4)[labels], -1, 1)
    assert L.dice(perfect, labels, scores="probabilities") == pytest.approx(0.0, abs=1e-9)
    assert L.jaccard(perfect, labels, scores="probabilities") == pytest.approx(0.0, abs=1e-9)


def test_dice_ignores_ignore_index():
    logits = RNG.normal(size=(1, 3, 6))
    labels = np.array([[0, 1, 255, 2, 255, 1]])
    keep = labels[0] != 255
    assert L.dice(logits, labels, ignore_index=255) == \
        pytest.approx(L.dice(logits[:, :, keep], labels[:, keep]), rel=1e-12)


def _jaccard_loss_of_set(mispredicted, foreground):
    """|M| / |fg ∪ M| for a set M of mispredicted elements (the Jaccard loss)."""
    union = foreground | mispredicted
    return mispredicted.sum() / union.sum() if union.any() else 0.0


def _lovasz_by_integration(errors, foreground):
    """The Lovász extension as the integral over t of F({errors >= t}): a sum over the
    intervals between the sorted distinct errors (independent of the gradient formula)."""
    levels = np.unique(np.concatenate([[0.0], errors]))
    total = 0.0
    for low, high in zip(levels[:-1], levels[1:]):
        total += (high - low) * _jaccard_loss_of_set(errors >= high, foreground)
    return total


def test_lovasz_softmax_against_integral_definition():
    logits = RNG.normal(size=(2, 3, 4, 4)) * 2
    labels = RNG.integers(0, 3, size=(2, 4, 4))
    p = L.common.softmax(logits)
    per_class = []
    for c in range(3):
        fg = (labels == c).ravel()
        errors = np.abs(fg - p[:, c].ravel())
        per_class.append(_lovasz_by_integration(errors, fg))
    assert L.lovasz_softmax(logits, labels) == pytest.approx(np.mean(per_class), rel=1e-9)
    per_image = []
    for n in range(2):
        values = [_lovasz_by_integration(np.abs((labels[n] == c).ravel() - p[n, c].ravel()),
                                         (labels[n] == c).ravel())
                  for c in range(3) if (labels[n] == c).any()]
        per_image.append(np.mean(values))
    assert L.lovasz_softmax(logits, labels, per_image=True) == \
        pytest.approx(np.mean(per_image), rel=1e-9)


def test_ohem_keeps_the_hard_examples():
    logits = RNG.normal(size=(8, 3)) * 2
    labels = RNG.integers(0, 3, size=8)
    labels[0] = 255
    p_true = np.array([softmax_row(list(logits[n]))[labels[n]] if labels[n] != 255 else 2.0
                       for n in range(8)])
    for thresh, min_kept in ((0.6, 0), (0.3, 5), (0.9, 2)):
        valid = sorted(v for v in p_true if v <= 1)
        threshold = thresh if min_kept == 0 else max(thresh, valid[min(len(valid), min_kept) - 1])
        kept = [n for n in range(8) if p_true[n] <= threshold]
        expected = np.mean([-math.log(p_true[n]) for n in kept])
        assert L.ohem_cross_entropy(logits, labels, thresh=thresh, min_kept=min_kept) == \
            pytest.approx(expected, rel=1e-12)
        assert len(kept) >= min(min_kept, 7)


def test_soft_bce_label_smoothing_and_ignore():
    x = RNG.normal(size=6)
    y = np.array([1, 0, 1, -100, 0, 1], float)
    loop = []
    for v, target in zip(x, y):
        if target == -100:
            continue
        s = (1 - target) * 0.1 + target * 0.9
        loop.append(-(s * math.log(sigmoid(v)) + (1 - s) * math.log(1 - sigmoid(v))))
    assert L.soft_bce(x, y, smooth_factor=0.1, ignore_index=-100) == \
        pytest.approx(np.mean(loop), rel=1e-12)


def test_duo_is_the_weighted_sum():
    logits = RNG.normal(size=(1, 3, 6, 6))
    labels = RNG.integers(0, 3, size=(1, 6, 6))
    expected = 0.3 * L.focal(logits, labels, gamma=2) + 2.0 * L.boundary(logits, labels)
    loss = L.get_loss('duo{first="focal{gamma=2}",second=boundary,weights=[0.3,2]}')
    assert loss(logits, labels) == pytest.approx(expected, rel=1e-12)


def test_loss_specification_syntax_and_errors():
    loss = L.get_loss("cross-entropy{weight=[1,2.5,1], label-smoothing=0.1, ignore-index=-1}")
    assert loss.name == "cross-entropy"
    assert loss.options == {"weight": [1, 2.5, 1], "label_smoothing": 0.1, "ignore_index": -1}
    assert L.get_loss("CE").name == "cross-entropy"
    assert L.get_loss("lovasz").name == "lovasz-softmax"
    with pytest.raises(UsageError, match="unknown loss 'fokal'"):
        L.get_loss("fokal")
    with pytest.raises(UsageError, match="no option 'gama'.*") as err:
        L.get_loss("focal{gama=2}")
    assert "gamma" in err.value.hint
    with pytest.raises(UsageError, match="column 14: expected .,. or .}., found end of text"):
        L.get_loss("focal{gamma=2")
    with pytest.raises(UsageError, match="given twice"):
        L.get_loss("focal{gamma=2,gamma=3}")


def test_shape_and_label_errors_are_clear():
    with pytest.raises(ShapeError, match="label 5 is outside the 3 classes"):
        L.cross_entropy(np.zeros((2, 3)), np.array([0, 5]))
    with pytest.raises(ShapeError, match="do not match"):
        L.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(UsageError, match="reduction='avg'"):
        L.mse(np.zeros(2), np.zeros(2), reduction="avg")


@pytest.mark.parametrize("name", [k.name for k in L.LOSSES.values() if k.reads == "scores"])
def test_every_score_loss_reads_probabilities_like_logits(name):
    """The same prediction as logits or as probabilities gives the same loss: each loss
    honours its ``scores`` option."""
    logits = RNG.normal(size=(2, 3, 6, 6))
    labels = RNG.integers(0, 3, size=(2, 6, 6))
    kind = L.loss_kind(name)
    target = np.moveaxis(np.eye(3)[labels], -1, 1) if kind.dense_target else labels
    loss = L.get_loss(name)
    from_logits = loss(logits, target, scores_kind="logits")
    # binary cross-entropy reads each output through a sigmoid, the others use a softmax
    probabilities = L.common.sigmoid(logits) if name == "bce" else L.common.softmax(logits)
    from_probabilities = loss(probabilities, target, scores_kind="probabilities")
    assert np.isfinite(from_logits)
    assert from_probabilities == pytest.approx(from_logits, rel=1e-9, abs=1e-12)
