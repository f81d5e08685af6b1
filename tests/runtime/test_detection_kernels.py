"""anchor_boxes / region_proposal / roi_pool kernels against hand-computed values and
straightforward scalar references written from N2D2's description (float32 steps)."""

import math

import numpy as np
import pytest

from n2d2c.ir import Graph, TensorType, ops
from n2d2c.runtime import simulate

F = np.float32


def run(op, *arrays):
    g = Graph("det")
    values = [g.add_input(f"x{i}", TensorType(a.shape)) for i, a in enumerate(arrays)]
    g.outputs = [g.add(op, values).output]
    return simulate(g, {f"x{i}": a for i, a in enumerate(arrays)})[g.outputs[0].name]


# -- anchor_boxes -----------------------------------------------------------------------

def test_anchor_decode_by_hand():
    # One 32x32 anchor (corners 0..31), 2x2 cells on a 64x64 frame: stride 32.
    op = ops.AnchorBoxes(anchors=(0.0, 0.0, 31.0, 31.0), feature_map=(64, 64))
    scores = np.full((1, 1, 2, 2), 0.25, F)
    deltas = np.zeros((1, 4, 2, 2), F)
    deltas[0, :, 0, 1] = [0.1, 0.0, 0.0, math.log(2.0)]  # cell x=1, y=0
    out = run(op, scores, deltas)
    assert out.shape == (1, 6, 2, 2)
    # x: anchor 32..63, wa = 31, centre 47.5 + 0.1*31 = 50.6, left 35.1, clipped at 63.
    # y: anchor 0..31, ha = 31, height 62, top 15.5 - 31 < 0 -> 0, height 62 - 15.5.
    np.testing.assert_allclose(out[0, :, 0, 1], [0.25, 35.1, 0.0, 27.9, 46.5, 0.0], rtol=1e-6)
    # Zero deltas give the anchor itself (31 wide: N2D2 takes x1 - x0).
    np.testing.assert_array_equal(out[0, 1:5, 1, 0], [0.0, 32.0, 31.0, 31.0])


def test_anchor_flip_and_box_scale():
    base = dict(anchors=(0.0, 0.0, 31.0, 31.0), feature_map=(64, 64))
    scores = np.zeros((1, 1, 2, 2), F)
    deltas = np.zeros((1, 4, 2, 2), F)
    deltas[0, 0], deltas[0, 1] = 0.1, -0.2
    plain = run(ops.AnchorBoxes(**base), scores, deltas)
    flipped = run(ops.AnchorBoxes(flip=True, **base), scores, deltas)
    np.testing.assert_allclose(flipped[0, 1, 1, 1], 32 + 15.5 - 0.1 * 31 - 15.5, rtol=1e-6)
    np.testing.assert_allclose(plain[0, 1, 1, 1], 32 + 0.1 * 31, rtol=1e-6)
    scaled = run(ops.AnchorBoxes(box_scale=(2.0, 0.5), **base), scores, deltas)
    np.testing.assert_allclose(scaled[0, 1:5:2], plain[0, 1:5:2] * 0.5, rtol=1e-6)
    np.testing.assert_allclose(scaled[0, 2:5:2], plain[0, 2:5:2] * 2.0, rtol=1e-6)


def reference_anchors(anchors, scores, deltas, first, fm, scale, flip):
    """Scalar loops over (batch, anchor, y, x) in N2D2's order of float operations."""
    a = len(anchors) // 4
    n, _, h, w = scores.shape
    out = np.zeros((n, 6 * a, h, w), F)
    sx, sy = math.ceil(fm[1] / w), math.ceil(fm[0] / h)
    for b in range(n):
        for k in range(a):
            ax0, ay0, ax1, ay1 = (F(v) for v in anchors[4 * k:4 * k + 4])
            for y in range(h):
                for x in range(w):
                    x0, x1 = int(float(ax0) + x * sx), int(float(ax1) + x * sx)
                    y0, y1 = int(float(ay0) + y * sy), int(float(ay1) + y * sy)
                    wa, ha = x1 - x0, y1 - y0
                    xc, yc = F(x0 + wa / 2.0), F(y0 + ha / 2.0)
                    tx, ty, tw, th = (deltas[b, k + (first + j) * a, y, x] for j in range(4))
                    if flip:
                        tx, ty = -tx, -ty
                    bw, bh = F(wa) * np.exp(tw), F(ha) * np.exp(th)
                    bx = F(float(tx * F(wa) + xc) - float(bw) / 2.0)
                    by = F(float(ty * F(ha) + yc) - float(bh) / 2.0)
                    if bx < 0:
                        bw, bx = bw + bx, F(0)
                    if by < 0:
                        bh, by = bh + by, F(0)
                    if bx + bw > F(fm[1] - 1):
                        bw = F(fm[1] - 1) - bx
                    if by + bh > F(fm[0] - 1):
                        bh = F(fm[0] - 1) - by
                    values = (scores[b, k, y, x], bx * F(scale[1]), by * F(scale[0]),
                              bw * F(scale[1]), bh * F(scale[0]), 0.0)
                    for j, v in enumerate(values):
                        out[b, k + j * a, y, x] = v
    return out


@pytest.mark.parametrize("single, flip", [(False, False), (True, True)])
def test_anchor_decode_against_reference(single, flip):
    rng = np.random.default_rng(3)
    anchors = (0.0, 0.0, 15.0, 15.0, -7.5, -3.5, 8.5, 4.5, 2.0, 1.0, 40.0, 22.0)
    fm, scale = (37, 45), (1.25, F(480) / F(479))
    scores = rng.uniform(0, 1, (2, 3, 5, 6)).astype(F)
    deltas = rng.normal(0, 0.7, (2, 12, 5, 6)).astype(F)
    op = ops.AnchorBoxes(anchors=anchors, feature_map=fm, box_scale=(1.25, float(scale[1])),
                         flip=flip, scores_cls=1 if single else 0)
    if single:  # scores, then deltas from channel block scores_cls = 1, then a spare block
        packed = np.concatenate([scores, deltas, np.zeros_like(scores)], axis=1)
        got = run(op, packed)
        want = reference_anchors(anchors, packed, packed, 1, fm, scale, flip)
    else:
        got = run(op, scores, deltas)
        want = reference_anchors(anchors, scores, deltas, 0, fm, scale, flip)
    np.testing.assert_array_equal(got, want)


# -- region_proposal --------------------------------------------------------------------

def anchor_tensor(scores, boxes, a=1):
    """A [1, 6A, 1, K/A] anchor_boxes result from K scores and (x, y, w, h) boxes."""
    k = len(scores)
    t = np.zeros((1, 6 * a, 1, k // a), F)
    for i, (s, box) in enumerate(zip(scores, boxes)):
        anchor, pos = i // (k // a), i % (k // a)
        for j, v in enumerate((s, *box)):
            t[0, anchor + j * a, 0, pos] = v
    return t


def test_nms_suppresses_an_overlapping_box_and_pads_with_zero_rows():
    boxes = [(0, 0, 10, 10), (1, 0, 10, 10), (20, 20, 5, 5)]  # IoU(0, 1) = 90/110
    x = anchor_tensor([0.9, 0.8, 0.7], boxes)
    out = run(ops.RegionProposal(nb_proposals=4, nms_iou=0.7), x)
    np.testing.assert_array_equal(out, [[0, 0, 10, 10], [20, 20, 5, 5], [0, 0, 0, 0],
                                        [0, 0, 0, 0]])
    # A higher threshold keeps the overlapping box, in score order.
    out = run(ops.RegionProposal(nb_proposals=2, nms_iou=0.85), x)
    np.testing.assert_array_equal(out, [[0, 0, 10, 10], [1, 0, 10, 10]])


def test_filters_ties_and_pre_nms_top_n():
    boxes = [(i * 20, 0, 10 - i, 10) for i in range(6)]
    scores = [0.5, -0.1, 0.5, 0.9, 0.5, 0.2]  # a negative score is not a proposal
    x = anchor_tensor(scores, boxes, a=2)
    out = run(ops.RegionProposal(nb_anchors=2, nb_proposals=5), x)
    # score order, ties in (anchor, y, x) order: 3, then 0, 2, 4, then 5
    np.testing.assert_array_equal(out[:, 0], [60, 0, 40, 80, 100])
    out = run(ops.RegionProposal(nb_anchors=2, nb_proposals=5, min_width=7.5), x)
    np.testing.assert_array_equal(out[:, 0], [0, 40, 0, 0, 0])
    out = run(ops.RegionProposal(nb_anchors=2, nb_proposals=5, pre_nms_top_n=2), x)
    np.testing.assert_array_equal(out[:, 0], [60, 0, 0, 0, 0])


def test_nms_keeps_boxes_a_suppressed_box_overlaps():
    # 1 overlaps 0 and is dropped; 2 overlaps only 1, so it stays (greedy NMS).
    boxes = [(0, 0, 10, 10), (5, 0, 10, 10), (10, 0, 10, 10)]
    out = run(ops.RegionProposal(nb_proposals=3, nms_iou=0.3),
              anchor_tensor([0.9, 0.8, 0.7], boxes))
    np.testing.assert_array_equal(out[:, 0], [0, 10, 0])


def reference_proposals(x, a, p, nms, top_n=0):
    rows = []
    for b in range(x.shape[0]):
        found = []
        for k in range(a):
            for y in range(x.shape[2]):
                for xx in range(x.shape[3]):
                    box = [x[b, k + j * a, y, xx] for j in range(5)]
                    if box[0] >= 0:
                        found.append((-float(box[0]), len(found), box[1:]))
        found.sort(key=lambda item: (item[0], item[1]))
        if 0 < top_n < len(found):
            found = found[:top_n]
        kept = []
        for _, _, box in found:
            if len(kept) == p:
                break
            if all(not overlaps(box, other, nms) for other in kept):
                kept.append(box)
        rows += kept + [[0, 0, 0, 0]] * (p - len(kept))
    return np.array(rows, F)


def overlaps(a, b, threshold):
    left, right = max(a[0], b[0]), min(a[0] + a[2], b[0] + b[2])
    top, bottom = max(a[1], b[1]), min(a[1] + a[3], b[1] + b[3])
    if not (left < right and top < bottom):
        return False
    inter = (right - left) * (bottom - top)
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter)) > threshold


def test_proposals_against_reference_per_image():
    rng = np.random.default_rng(5)
    a, h, w = 3, 4, 5
    x = np.zeros((2, 6 * a, h, w), F)
    x[:, :a] = rng.uniform(-0.2, 1, (2, a, h, w))
    x[:, a:3 * a] = rng.uniform(0, 40, (2, 2 * a, h, w))
    x[:, 3 * a:5 * a] = rng.uniform(1, 25, (2, 2 * a, h, w))
    for top_n in (0, 17):
        got = run(ops.RegionProposal(nb_anchors=a, nb_proposals=12, nms_iou=0.4,
                                     pre_nms_top_n=top_n), x)
        np.testing.assert_array_equal(got, reference_proposals(x, a, 12, 0.4, top_n))


# -- roi_pool ---------------------------------------------------------------------------

def ramp(c=1, h=8, w=8, n=1):
    return np.arange(n * c * h * w, dtype=F).reshape(n, c, h, w)


def test_roi_max_and_average_of_a_known_box():
    fmap = ramp()  # value = 8*y + x
    # Stimulus 16x16 -> stride 2: the box (4, 2, 8, 12) covers x 2..5, y 1..6 of the map.
    box = np.array([[4, 2, 8, 12]], F)
    got = run(ops.RoiPool(size=(2, 2), image=(16, 16)), box, fmap)
    np.testing.assert_array_equal(got[0, 0], [[27, 29], [51, 53]])
    got = run(ops.RoiPool(size=(2, 2), mode="average", image=(16, 16)), box, fmap)
    # bins x [2,4) [4,6), y [1,4) [4,7): means of 8*y + x
    np.testing.assert_allclose(got[0, 0], [[18.5, 20.5], [42.5, 44.5]])


def test_roi_crop_empty_bins_ratio_rounding_and_batches():
    fmap = np.concatenate([ramp(), ramp() + 100])
    boxes = np.array([[-4, -4, 40, 40],   # cropped to the whole 8x8 map
                      [0, 0, 0, 0],       # a padding row: empty bins give 0
                      [0, 0, 4, 4],       # image 1
                      [2, 2, 2, 2]], F)
    got = run(ops.RoiPool(size=(2, 2), image=(16, 16)), boxes, fmap)
    np.testing.assert_array_equal(got[0, 0], [[27, 31], [59, 63]])
    np.testing.assert_array_equal(got[1], 0)
    np.testing.assert_array_equal(got[2, 0], [[100, 101], [108, 109]])  # row 2 // 2 = image 1
    # stimulus 20 over 8 cells: 3 pixels per cell rounded up, 2.5 exactly
    box = np.array([[15, 0, 5, 5]], F)
    up = run(ops.RoiPool(size=(1, 1), image=(20, 20)), box, ramp())
    exact = run(ops.RoiPool(size=(1, 1), image=(20, 20), ceil_ratio=False), box, ramp())
    assert up[0, 0, 0, 0] == 8 * 0 + 5  # x 5..6.67 -> cells [5, 6), y 0..1.67 -> [0, 1)
    assert exact[0, 0, 0, 0] == 8 * 1 + 7  # x 6..8 -> [6, 8), y 0..2 -> [0, 2)


def test_roi_feature_maps_are_concatenated_along_channels():
    a, b = ramp(c=2), ramp(c=3, h=4, w=4) * -1
    got = run(ops.RoiPool(size=(1, 1), image=(8, 8)), np.array([[0, 0, 8, 8]], F), a, b)
    assert got.shape == (1, 5, 1, 1)
    np.testing.assert_array_equal(got[0, :, 0, 0], [63, 127, 0, -16, -32])


def clamp(v, lo, hi):
    """N2D2's Utils::clamp (the low bound is tested first: it wins when hi < lo)."""
    return lo if v < lo else hi if v > hi else v


def reference_bilinear(fmap, box, size, image, tf, flip, ignore_padding):
    c, h, w = fmap.shape
    rx, ry = float(math.ceil(image[1] / w)), float(math.ceil(image[0] / h))
    ox = float(F((image[1] - 1) / rx - (w - 1))) if flip else 0.0
    oy = float(F((image[0] - 1) / ry - (h - 1))) if flip else 0.0
    x, y = F(box[0] / rx - ox), F(box[1] / ry - oy)
    bw, bh = F(box[2] / rx), F(box[3] / ry)
    if x < 0:
        bw, x = bw + x, F(0)
    if y < 0:
        bh, y = bh + y, F(0)
    if x + bw > w:
        bw = F(w) - x
    if y + bh > h:
        bh = F(h) - y
    out = np.zeros((c,) + size, F)
    for i in range(size[0]):
        for j in range(size[1]):
            if tf:
                sx = min(x + F(j) * (bw / F(size[1] - 1)), F(w - 1))
                sy = min(y + F(i) * (bh / F(size[0] - 1)), F(h - 1))
            else:
                cx = F(-0.5 + (j + 0.5) * float(bw / F(size[1])))
                cy = F(-0.5 + (i + 0.5) * float(bh / F(size[0])))
                sx = x + clamp(cx, F(0), bw - F(1))
                sy = y + clamp(cy, F(0), bh - F(1))
            x0, y0 = int(sx), int(sy)
            dx, dy = sx - F(x0), sy - F(y0)
            right, below = x0 + 1 < w, y0 + 1 < h
            if ignore_padding and not (right and below):
                continue
            for ch in range(c):
                v00 = fmap[ch, y0, x0]
                v10 = fmap[ch, y0, x0 + 1] if right else F(0)
                v01 = fmap[ch, y0 + 1, x0] if below else F(0)
                v11 = fmap[ch, y0 + 1, x0 + 1] if right and below else F(0)
                one = F(1)
                out[ch, i, j] = (v00 * (one - dx) * (one - dy) + v10 * dx * (one - dy)
                                 + v01 * (one - dx) * dy + v11 * (dx * dy))
    return out


@pytest.mark.parametrize("mode, flip, ignore_padding", [
    ("bilinear", False, False), ("bilinear", True, False), ("bilinear_tf", False, False),
    ("bilinear_tf", False, True), ("bilinear", False, True)])
def test_roi_bilinear_against_reference(mode, flip, ignore_padding):
    rng = np.random.default_rng(11)
    fmap = rng.normal(size=(1, 3, 9, 11)).astype(F)
    boxes = np.array([[3.3, 4.1, 30.7, 20.2], [-5, 10, 60, 80], [40, 30, 3, 2]], F)
    op = ops.RoiPool(size=(3, 4), mode=mode, image=(35, 42), flip=flip,
                     ignore_padding=ignore_padding)
    got = run(op, boxes, fmap)
    for r, box in enumerate(boxes):
        want = reference_bilinear(fmap[0], [float(v) for v in box], (3, 4), (35, 42),
                                  mode == "bilinear_tf", flip, ignore_padding)
        np.testing.assert_array_equal(got[r], want)
