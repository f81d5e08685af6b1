"""Losses that PyTorch implements, against torch.nn.functional (a test-only dependency)."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.runtime import losses as L

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(7)
LOGITS = RNG.normal(size=(6, 5)) * 3
LABELS = np.array([0, 4, 2, 2, 1, 3])
SEG = RNG.normal(size=(2, 4, 3, 5)) * 2
SEG_LABELS = RNG.integers(0, 4, size=(2, 3, 5))
WEIGHT = np.array([1.0, 2.0, 0.5, 3.0, 1.5])
REDUCTIONS = ["none", "mean", "sum"]


def t(a):
    return torch.from_numpy(np.asarray(a))


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours, np.float64), theirs.double().numpy(),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": WEIGHT}, {"ignore_index": 2},
                                     {"label_smoothing": 0.2, "weight": WEIGHT, "ignore_index": 4}])
def test_cross_entropy_sparse(reduction, options):
    torch_options = {k: (t(v) if k == "weight" else v) for k, v in options.items()}
    theirs = F.cross_entropy(t(LOGITS), t(LABELS), reduction=reduction, **torch_options)
    close(L.cross_entropy(LOGITS, LABELS, reduction=reduction, **options), theirs)


def test_cross_entropy_segmentation_soft_labels_and_probabilities():
    close(L.cross_entropy(SEG, SEG_LABELS), F.cross_entropy(t(SEG), t(SEG_LABELS)))
    soft = L.common.softmax(RNG.normal(size=SEG.shape))
    close(L.cross_entropy(SEG, soft, label_smoothing=0.1, weight=WEIGHT[:4]),
          F.cross_entropy(t(SEG), t(soft), label_smoothing=0.1, weight=t(WEIGHT[:4])))
    # probabilities in, the same loss out
    close(L.cross_entropy(L.common.softmax(LOGITS), LABELS, scores="probabilities"),
          F.cross_entropy(t(LOGITS), t(LABELS)))


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0]])
    value = L.cross_entropy(logits, np.array([1]))
    assert value == pytest.approx(2000.0)
    close(value, F.cross_entropy(t(logits), t(np.array([1]))))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll(reduction):
    log_p = F.log_softmax(t(LOGITS), 1)
    close(L.nll(log_p.numpy(), LABELS, weight=WEIGHT, ignore_index=0, reduction=reduction),
          F.nll_loss(log_p, t(LABELS), weight=t(WEIGHT), ignore_index=0, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    x = RNG.normal(size=(4, 3)) * 4
    y = RNG.integers(0, 2, size=(4, 3)).astype(float)
    w = RNG.uniform(0.5, 2, size=(4, 3))
    p = 1 / (1 + np.exp(-x))
    close(L.binary_cross_entropy(p, y, weight=w, reduction=reduction),
          F.binary_cross_entropy(t(p), t(y), weight=t(w), reduction=reduction))
    pw = np.array([1.0, 3.0, 0.5])
    close(L.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction=reduction),
          F.binary_cross_entropy_with_logits(t(x), t(y), weight=t(w), pos_weight=t(pw),
                                             reduction=reduction))


def test_bce_with_logits_is_stable():
    x = np.array([800.0, -800.0])
    y = np.array([0.0, 1.0])
    close(L.binary_cross_entropy_with_logits(x, y, reduction="none"),
          F.binary_cross_entropy_with_logits(t(x), t(y), reduction="none"))


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")  # torch's own deprecation note
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_divergence(reduction):
    log_q = F.log_softmax(t(LOGITS), 1)
    target = L.common.softmax(RNG.normal(size=LOGITS.shape))
    target[0] = np.eye(5)[1]                        # zeros in the target: 0 log 0 = 0
    close(L.kl_divergence(log_q.numpy(), target, reduction=reduction),
          F.kl_div(log_q, t(target), reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multiclass_hinge(reduction):
    close(L.hinge(LOGITS, LABELS, reduction=reduction),
          F.multi_margin_loss(t(LOGITS), t(LABELS), reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression(reduction):
    x, y = RNG.normal(size=(5, 4)) * 2, RNG.normal(size=(5, 4)) * 2
    close(L.mse(x, y, reduction=reduction), F.mse_loss(t(x), t(y), reduction=reduction))
    close(L.l1(x, y, reduction=reduction), F.l1_loss(t(x), t(y), reduction=reduction))
    for delta in (0.5, 1.0, 2.5):
        close(L.huber(x, y, delta=delta, reduction=reduction),
              F.huber_loss(t(x), t(y), delta=delta, reduction=reduction))
    for beta in (0.0, 0.5, 1.0, 2.0):
        close(L.smooth_l1(x, y, beta=beta, reduction=reduction),
              F.smooth_l1_loss(t(x), t(y), beta=beta, reduction=reduction))


def test_gaussian_kl():
    mu, sigma = RNG.normal(size=(3, 4)), RNG.uniform(0.2, 2.0, size=(3, 4))
    dist = torch.distributions
    theirs = dist.kl_divergence(dist.Normal(t(mu), t(sigma)), dist.Normal(0.0, 1.0)).sum()
    close(L.gaussian_kl(mu, sigma), theirs)


def test_focal_with_gamma_zero_is_cross_entropy():
    close(L.focal(LOGITS, LABELS, gamma=0.0), F.cross_entropy(t(LOGITS), t(LABELS)))
    close(L.focal(SEG, SEG_LABELS, gamma=0.0), F.cross_entropy(t(SEG), t(SEG_LABELS)))


def _torch_boundary(pred, gt, theta0, theta):
    """The published boundary-loss recipe written with torch max-pooling."""
    c = pred.shape[1]
    p = torch.softmax(pred, 1)
    one_hot = F.one_hot(gt, c).permute(0, 3, 1, 2).double()

    def pool(a, k):
        return F.max_pool2d(a, kernel_size=k, stride=1, padding=(k - 1) // 2)

    gt_b = pool(1 - one_hot, theta0) - (1 - one_hot)
    pred_b = pool(1 - p, theta0) - (1 - p)
    gt_b_ext, pred_b_ext = pool(gt_b, theta), pool(pred_b, theta)
    n = pred.shape[0]
    gt_b, pred_b = gt_b.view(n, c, -1), pred_b.view(n, c, -1)
    gt_b_ext, pred_b_ext = gt_b_ext.view(n, c, -1), pred_b_ext.view(n, c, -1)
    precision = (pred_b * gt_b_ext).sum(2) / (pred_b.sum(2) + 1e-7)
    recall = (pred_b_ext * gt_b).sum(2) / (gt_b.sum(2) + 1e-7)
    bf1 = 2 * precision * recall / (precision + recall + 1e-7)
    return (1 - bf1).mean()


@pytest.mark.parametrize("theta0,theta", [(3, 5), (3, 3), (5, 7)])
def test_boundary_against_torch_pooling(theta0, theta):
    pred = RNG.normal(size=(2, 3, 9, 11)) * 2
    gt = np.zeros((2, 9, 11), np.int64)
    gt[:, 2:6, 3:8] = 1
    gt[1, 5:, :4] = 2
    close(L.boundary(pred, gt, theta0=theta0, theta=theta),
          _torch_boundary(t(pred), t(gt), theta0, theta))
