"""TargetROIs: boxes from connected components of an estimated map, merging, filters and
matching with the annotated regions, on hand-drawn maps whose boxes are known."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.runtime.targets import Target
from n2d2c.runtime.targets.rois import (Box, RoiOptions, annotated_rois, estimated_rois, match,
                                        roi_scores)

pytest.importorskip("scipy")


def _map():
    m = np.zeros((10, 12), np.int64)
    m[1:3, 1:4] = 1          # 2x3 box of target 1
    m[3, 4] = 1              # touches it diagonally: the same 8-connected component
    m[6:9, 2:3] = 2          # 3x1 box of target 2
    m[6:8, 7:11] = 1         # 2x4 box of target 1
    m[9, 11] = 1             # a lone pixel
    return m


def test_components_and_min_size():
    m = _map()
    values = np.ones(m.shape)
    boxes = estimated_rois(m, values, 3, RoiOptions(min_size=2, merge_max_h_dist=-1,
                                                    merge_max_v_dist=-1), skip=0)
    assert sorted(boxes, key=lambda b: (b.target, b.top)) == [
        Box(1, 1, 1, 4, 5), Box(1, 6, 7, 8, 11), Box(2, 6, 2, 9, 3)]
    # every pixel counts with min_size 1; the value threshold removes low-confidence ones
    assert len(estimated_rois(m, values, 3, RoiOptions(merge_max_h_dist=-1,
                                                       merge_max_v_dist=-1), skip=0)) == 4
    low = values.copy()
    low[6:9, 2:3] = 0.2
    assert all(b.target != 2 for b in estimated_rois(m, low, 3, RoiOptions(min_size=2),
                                                     value_threshold=0.5, skip=0))


def test_merging_and_filters():
    m = np.zeros((6, 12), np.int64)
    m[1:3, 1:3] = 1
    m[1:3, 5:7] = 1          # 2 pixels right of the first: merged when MergeMaxHDist >= 2
    boxes = estimated_rois(m, np.ones(m.shape), 2, RoiOptions(merge_max_h_dist=2), skip=0)
    assert boxes == [Box(1, 1, 1, 3, 7)]
    assert len(estimated_rois(m, np.ones(m.shape), 2, RoiOptions(merge_max_h_dist=1),
                              skip=0)) == 2
    wide = RoiOptions(merge_max_h_dist=2, filter_max_aspect_ratio=2.0)    # 6/2 = 3 > 2
    assert estimated_rois(m, np.ones(m.shape), 2, wide, skip=0) == []
    tall = RoiOptions(merge_max_h_dist=2, filter_min_height=3)
    assert estimated_rois(m, np.ones(m.shape), 2, tall, skip=0) == []


def test_matching_by_iou():
    truth = [Box(1, 0, 0, 4, 4), Box(2, 0, 0, 4, 4)]
    estimated = [Box(1, 0, 0, 4, 2),     # IoU 0.5 with the target-1 box
                 Box(2, 5, 5, 6, 6),     # no overlap
                 Box(1, 0, 0, 4, 4)]     # exact: takes the annotation first
    assert truth[0].iou(estimated[0]) == pytest.approx(0.5)
    assert match(estimated, truth, 0.5) == 1
    assert match(estimated[:2], truth, 0.5) == 1
    assert match(estimated[:2], truth, 0.6) == 0


def test_roi_scores_through_the_evaluator():
    from n2d2c.quantization.evaluation import Evaluator
    m = _map()
    scores = np.moveaxis(np.eye(3)[m], -1, 0)[None] * 0.9 + 0.05      # [1, 3, 10, 12]
    truth = m.copy()
    truth[9, 11] = 0                                                  # not annotated
    target = Target(type="TargetROIs", no_display_label=0,
                    properties={"MinSize": "1", "MinOverlap": "0.5", "MergeMaxHDist": "0",
                                "MergeMaxVDist": "0"})
    result = Evaluator(target, outputs=3, activation="softmax").evaluate(scores, truth[None])
    rois = result.extra["rois"]
    assert rois == roi_scores(m[None], np.full((1,) + m.shape, 0.95), truth[None], 3,
                              RoiOptions(merge_max_h_dist=0, merge_max_v_dist=0), skip=0)
    assert (rois["estimated"], rois["annotated"], rois["matched"]) == (4, 3, 3)
    assert rois["precision"] == pytest.approx(0.75) and rois["recall"] == 1.0
    assert annotated_rois(truth, 3, skip=0)[0].target == 1
