"""Faster R-CNN detection ops (numpy): anchor decoding, region proposals, ROI pooling.

These follow the inference path of N2D2's ``Frame`` (CPU) cells; where its
``Frame_CUDA`` cells differ by a constant, the op carries it (``box_scale``,
``ceil_ratio``) and the INI frontend picks it from the layer's model.  Unlike the
other kernels they compute in float32 in N2D2's order of operations: box
edges are truncated to integers (anchor positions, pooling bins) and IoUs are
compared with a threshold, so one rounding of difference can move a bin or
flip a suppression.

* ``anchor_boxes``: anchor ``k`` at output cell (x, y) spans
  ``[trunc(x0 + x*sx), trunc(x1 + x*sx)]`` (and likewise in y), with stride
  ``sx = ceil(feature_map_w / W)``; with ``wa = x1' - x0'`` and centre
  ``xa = x0' + wa/2`` the box is centred at ``xa + tx*wa`` (``-tx`` with
  ``flip``), ``wa * exp(tw)`` wide, clipped to ``[0, feature_map_w - 1]``, then
  scaled by ``box_scale``.  The IoU block is 0: N2D2 fills it from the ground
  truth, which a deployed network does not have.
* ``region_proposal``: per image, the boxes with score >= 0, w >= min_width and
  h >= min_height, sorted by decreasing score (ties in (anchor, y, x) order),
  cut to ``pre_nms_top_n``, then greedy non-maximum suppression (a box is
  dropped when its IoU with a kept box exceeds ``nms_iou``) until
  ``nb_proposals`` are kept.  Rows left over are zero boxes: N2D2's Frame cell
  leaves them as they were (zero in a fresh cell), which would make the result
  depend on earlier runs.
* ``roi_pool``: the box divided by the map's stride and cropped to the map is
  split into ``size`` bins whose edges are truncated; max/average pool each bin
  (an empty bin gives 0), or sample one bilinear point per bin.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import ops
from ..registry import kernel
from ._util import f32

F32 = np.float32


def _shifted_anchors(anchors: np.ndarray, first: int, last: int, frame: int, cells: int):
    """Integer start and length of every anchor at every cell along one axis, (A, cells).

    Corners are C floats moved by ``cell * ceil(frame / cells)`` in double, then
    truncated to int; the length is end - start (one less than the anchor's size).
    """
    steps = np.arange(cells) * float(math.ceil(frame / cells))
    start = np.trunc(anchors[:, first, None].astype(F32).astype(np.float64) + steps)
    end = np.trunc(anchors[:, last, None].astype(F32).astype(np.float64) + steps)
    return start.astype(np.int64), (end - start).astype(np.int64)


def _decode(t, t_size, start, length, frame: int, flip: bool):
    """Corner and extent (float32) of the boxes along one axis, clipped to [0, frame - 1]."""
    centre = (start + length / 2.0).astype(F32)
    length = length.astype(F32)
    extent = length * np.exp(t_size)
    corner = ((-t if flip else t) * length + centre) - extent * F32(0.5)
    # Boxes crossing the frame are clipped to it (N2D2 does so only at inference).
    low = corner < 0
    extent = np.where(low, extent + corner, extent)
    corner = np.where(low, F32(0), corner)
    last = F32(frame - 1)
    extent = np.where(corner + extent > last, last - corner, extent)
    return corner, extent


@kernel(ops.AnchorBoxes)
def anchor_boxes(op: ops.AnchorBoxes, *operands):
    a = op.nb_anchors
    scores, deltas = f32(operands[0]), f32(operands[-1])
    # One operand: the deltas follow the scores from channel block scores_cls.
    first = 0 if len(operands) == 2 else op.scores_cls
    n, _, h, w = scores.shape
    fm_h, fm_w = op.feature_map
    anchors = np.asarray(op.anchors, np.float64).reshape(a, 4)

    def block(j):
        return deltas[:, (first + j) * a:(first + j + 1) * a]

    x_start, x_length = (v[None, :, None, :] for v in _shifted_anchors(anchors, 0, 2, fm_w, w))
    y_start, y_length = (v[None, :, :, None] for v in _shifted_anchors(anchors, 1, 3, fm_h, h))
    x, width = _decode(block(0), block(2), x_start, x_length, fm_w, op.flip)
    y, height = _decode(block(1), block(3), y_start, y_length, fm_h, op.flip)
    scale_y, scale_x = F32(op.box_scale[0]), F32(op.box_scale[1])
    return np.concatenate([scores[:, :a], x * scale_x, y * scale_y, width * scale_x,
                           height * scale_y, np.zeros_like(x)], axis=1).astype(F32)


def _iou_above(box, others, threshold: float) -> np.ndarray:
    """Whether each of ``others`` overlaps ``box`` with IoU > threshold (float32 as N2D2)."""
    x, y, w, h = box
    ox, oy, ow, oh = others.T
    left, right = np.maximum(x, ox), np.minimum(x + w, ox + ow)
    top, bottom = np.maximum(y, oy), np.minimum(y + h, oy + oh)
    overlap = (left < right) & (top < bottom)
    with np.errstate(divide="ignore", invalid="ignore"):
        inter = (right - left) * (bottom - top)
        iou = inter / (w * h + ow * oh - inter)
    # N2D2 compares the float IoU with a double threshold.
    return overlap & (iou.astype(np.float64) > threshold)


@kernel(ops.RegionProposal)
def region_proposal(op: ops.RegionProposal, x):
    x = f32(x)
    a, p = op.nb_anchors, op.nb_proposals
    out = np.zeros((x.shape[0] * p, 4), F32)
    for b in range(x.shape[0]):
        score = x[b, op.score_index * a:(op.score_index + 1) * a].reshape(-1)
        boxes = np.stack([x[b, j * a:(j + 1) * a].reshape(-1) for j in range(1, 5)], axis=1)
        valid = (score >= 0) & (boxes[:, 2] >= op.min_width) & (boxes[:, 3] >= op.min_height)
        candidates = np.nonzero(valid)[0]
        candidates = candidates[np.argsort(-score[candidates], kind="stable")]
        if 0 < op.pre_nms_top_n < candidates.size:
            candidates = candidates[:op.pre_nms_top_n]
        kept = []
        while candidates.size and len(kept) < p:
            best, candidates = candidates[0], candidates[1:]
            kept.append(best)
            candidates = candidates[~_iou_above(boxes[best], boxes[candidates], op.nms_iou)]
        out[b * p:b * p + len(kept)] = boxes[kept]
    return out


def _map_ratio(op: ops.RoiPool, image: int, cells: int) -> float:
    """Stimulus pixels per feature-map cell along one axis."""
    if op.ceil_ratio or op.mode.startswith("bilinear"):
        return float(math.ceil(image / cells))
    return float(F32(image) / F32(cells))


def _crop(start, length, limit):
    """Clip the float32 span [start, start + length) to [0, limit) as N2D2 does."""
    if start < 0:
        length, start = length + start, F32(0)
    if start + length > limit:
        length = F32(limit) - start
    return start, length


def _bin_edges(start, length, bins: int, limit: int):
    """Integer [lo, hi) of each pooling bin (truncated as C's unsigned casts)."""
    step = length / F32(bins)
    edges = start + np.arange(bins + 1, dtype=F32) * step
    edges = np.clip(np.trunc(edges), 0, limit).astype(np.int64)
    return edges[:-1], edges[1:]


def _pool_bins(fmap, mode, box, size):
    _, height, width = fmap.shape
    x, y, w, h = box
    x, w = _crop(x, w, width)
    y, h = _crop(y, h, height)
    out = np.zeros((fmap.shape[0],) + size, F32)
    x_lo, x_hi = _bin_edges(x, w, size[1], width)
    y_lo, y_hi = _bin_edges(y, h, size[0], height)
    for oy in range(size[0]):
        for ox in range(size[1]):
            cell = fmap[:, y_lo[oy]:y_hi[oy], x_lo[ox]:x_hi[ox]]
            if cell.size == 0:
                continue
            if mode == "max":
                out[:, oy, ox] = cell.max(axis=(1, 2))
            else:
                out[:, oy, ox] = cell.mean(axis=(1, 2), dtype=np.float64)
    return out


def _bilinear_points(start, length, bins: int, limit: int, tf: bool):
    """Sample coordinate of each bin: corners-to-corners (TF) or bin centres (OpenCV)."""
    if tf:
        step = length / F32(bins - 1)
        return np.minimum(start + np.arange(bins, dtype=F32) * step, F32(limit - 1))
    # The centre offset is computed in double and rounded once, as N2D2 does.
    step = np.float64(length / F32(bins))
    centred = (-0.5 + (np.arange(bins) + 0.5) * step).astype(F32)
    hi = length - F32(1)
    return start + np.where(centred < 0, F32(0), np.where(centred > hi, hi, centred))


def _bilinear_bins(fmap, op, box, size):
    _, height, width = fmap.shape
    x, y, w, h = box
    x, w = _crop(x, w, width)
    y, h = _crop(y, h, height)
    tf = op.mode == "bilinear_tf"
    sx = _bilinear_points(x, w, size[1], width, tf)
    sy = _bilinear_points(y, h, size[0], height, tf)
    x0, y0 = sx.astype(np.int64), sy.astype(np.int64)
    dx, dy = sx - x0.astype(F32), sy - y0.astype(F32)
    right, below = x0 + 1 < width, y0 + 1 < height
    # Neighbours past the last row/column read the zero padding.
    padded = np.pad(fmap, ((0, 0), (0, 1), (0, 1)))
    x0, y0 = np.clip(x0, 0, width), np.clip(y0, 0, height)
    x1, y1 = np.where(right, x0 + 1, width), np.where(below, y0 + 1, height)
    i00 = padded[:, y0[:, None], x0[None, :]]
    i10 = padded[:, y0[:, None], x1[None, :]]
    i01 = padded[:, y1[:, None], x0[None, :]]
    i11 = padded[:, y1[:, None], x1[None, :]]
    fx, fy = dx[None, None, :], dy[None, :, None]
    one = F32(1)
    value = (i00 * (one - fx) * (one - fy) + i10 * fx * (one - fy)
             + i01 * (one - fx) * fy + i11 * (fx * fy))
    if op.ignore_padding:
        value = np.where((below[:, None] & right[None, :])[None], value, F32(0))
    return value.astype(F32)


@kernel(ops.RoiPool)
def roi_pool(op: ops.RoiPool, proposals, *maps):
    proposals = f32(proposals)
    rows = proposals.shape[0]
    per_image = rows // maps[0].shape[0]
    size = tuple(op.size)
    out = np.zeros(op.outputs[0].type.shape, F32)
    channel = 0
    for fmap in maps:
        fmap = f32(fmap)
        _, c, height, width = fmap.shape
        rx, ry = _map_ratio(op, op.image[1], width), _map_ratio(op, op.image[0], height)
        off_x = off_y = 0.0
        if op.flip and op.mode.startswith("bilinear"):
            off_x = float(F32((op.image[1] - 1) / rx - (width - 1)))
            off_y = float(F32((op.image[0] - 1) / ry - (height - 1)))
        for r in range(rows):
            # N2D2's cells divide by N*P here, reading image 0 for every row; with
            # N = 1 this is the same, and row // P is what the proposal belongs to.
            image = fmap[r // per_image]
            px, py, pw, ph = (np.float64(v) for v in proposals[r])
            box = (F32(px / rx - off_x), F32(py / ry - off_y), F32(pw / rx), F32(ph / ry))
            if op.mode.startswith("bilinear"):
                pooled = _bilinear_bins(image, op, box, size)
            else:
                pooled = _pool_bins(image, op.mode, box, size)
            out[r, channel:channel + c] = pooled
        channel += c
    return out
