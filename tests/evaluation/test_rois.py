"""TargetROIs: boxes from connected components of an estimated map, filters, merging,
scores and N2D2's matching (best score first, IoU above MinOverlap, duplicates not counted),
on hand-drawn maps whose boxes are known."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.runtime.targets import Target
from n2d2c.runtime.targets.rois import (Box, RoiOptions, annotated_rois, estimated_rois, match,
                                        roi_scores)

pytest.importorskip("scipy")
NO_MERGE = {"merge_max_h_dist": -1, "merge_max_v_dist": -1}


def _map():
    m = np.zeros((10, 12), np.int64)      # target 0: the background
    m[1:3, 1:4] = 1          # 2x3 box of target 1
    m[3, 4] = 1              # touches it diagonally: the same 8-connected component
    m[6:9, 2:3] = 2          # 3x1 box of target 2
    m[6:8, 7:11] = 1         # 2x4 box of target 1
    m[9, 11] = 1             # a lone pixel
    return m


def _boxes(*args, **kwargs):
    return [b for b, _ in estimated_rois(*args, **kwargs)]


def test_components_min_size_and_value_threshold():
    m = _map()
    values = np.ones(m.shape)
    boxes = _boxes(m, values, 3, RoiOptions(min_size=2, **NO_MERGE))
    assert sorted(boxes, key=lambda b: (b.target, b.top)) == [
        Box(1, 1, 1, 4, 5), Box(1, 6, 7, 8, 11), Box(2, 6, 2, 9, 3)]
    assert len(_boxes(m, values, 3, RoiOptions(**NO_MERGE))) == 4      # MinSize 0: all
    low = values.copy()
    low[6:9, 2:3] = 0.2
    assert all(b.target != 2 for b in _boxes(m, low, 3, RoiOptions(min_size=2),
                                             value_threshold=0.5))


def test_scores_order_the_boxes():
    m = _map()
    values = np.full(m.shape, 0.5)
    values[6:8, 7:11] = 0.9
    scored = estimated_rois(m, values, 3, RoiOptions(min_size=2, **NO_MERGE))
    assert scored[0] == (Box(1, 6, 7, 8, 11), pytest.approx(0.9))
    assert [s for _, s in scored[1:]] == pytest.approx([0.5, 0.5])


def test_filters_then_merging():
    m = np.zeros((6, 12), np.int64)
    m[1:3, 1:3] = 1
    m[1:3, 5:7] = 1          # 2 pixels right of the first: merged when MergeMaxHDist >= 2
    ones = np.ones(m.shape)
    assert _boxes(m, ones, 2, RoiOptions(merge_max_h_dist=2)) == [Box(1, 1, 1, 3, 7)]
    assert len(_boxes(m, ones, 2, RoiOptions(merge_max_h_dist=1))) == 2
    # the size filters look at the boxes before merging (2x2 each: ratio 1)
    assert _boxes(m, ones, 2, RoiOptions(merge_max_h_dist=2, filter_max_aspect_ratio=2.0)) == \
        [Box(1, 1, 1, 3, 7)]
    assert _boxes(m, ones, 2, RoiOptions(merge_max_h_dist=2, filter_min_height=3)) == []


def test_matching_duplicates_and_confusion():
    truth = [Box(1, 0, 0, 4, 4), Box(2, 6, 6, 8, 8)]
    boxes = [Box(1, 0, 0, 4, 4),         # matches the target-1 annotation
             Box(1, 0, 0, 4, 3),         # IoU 0.75 with it too: a duplicate
             Box(2, 0, 0, 4, 2),         # IoU 0.5, not above MinOverlap 0.5: a false alarm
             Box(1, 6, 6, 8, 8)]         # matches the target-2 annotation with target 1
    confusion = np.zeros((3, 3), np.int64)
    assert match(boxes, truth, 0.5, confusion) == 1
    assert confusion.tolist() == [[0, 0, 1], [0, 1, 0], [0, 1, 0]]
    confusion[:] = 0
    match([], truth, 0.5, confusion)
    assert confusion.tolist() == [[0, 0, 0], [1, 0, 0], [1, 0, 0]]      # two misses


def test_roi_scores_through_the_evaluator():
    from n2d2c.quantization.evaluation import Evaluator
    m = _map()
    scores = np.moveaxis(np.eye(3)[m], -1, 0)[None] * 0.9 + 0.05      # [1, 3, 10, 12]
    truth = m.copy()
    truth[9, 11] = 0                                                  # not annotated
    target = Target(type="TargetROIs",
                    properties={"MinOverlap": "0.5", "MergeMaxHDist": "0",
                                "MergeMaxVDist": "0"})
    result = Evaluator(target, outputs=3, activation="softmax").evaluate(scores, truth[None])
    rois = result.extra["rois"]
    assert rois == roi_scores(m[None], np.full((1,) + m.shape, 0.95), truth[None], 3,
                              RoiOptions(merge_max_h_dist=0, merge_max_v_dist=0))
    assert (rois["estimated"], rois["annotated"], rois["matched"]) == (4, 3, 3)
    assert rois["confusion"][0] == [0, 1, 0]                          # the lone pixel
    assert rois["precision"] == pytest.approx(0.75) and rois["recall"] == 1.0
    assert [b.target for b in annotated_rois(truth, 3)] == [1, 1, 2]
