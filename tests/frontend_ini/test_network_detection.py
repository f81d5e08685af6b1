"""Anchor / RP / ROIPooling layers: lowering, N2D2's property names and defaults,
located errors, simulation, and the corpus Faster R-CNN network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.errors import InputError, UnsupportedError
from n2d2c.frontend.ini import load_ini_network
from n2d2c.ir import ops, parse_graph, print_graph, verify
from n2d2c.runtime import simulate

from .helpers import assert_at, error_of
from .network_helpers import corpus_env, random_input

NET = """
[sp]
SizeX=32
SizeY=24
NbChannels=3

[feat]
Input=sp
Type=Pool
PoolDims=2 2
Stride=2

[scores]
Input=feat
Type=Conv
KernelDims=1 1
NbOutputs=2
ActivationFunction=Logistic

[coords]
Input=feat
Type=Conv
KernelDims=1 1
NbOutputs=8

[anchors]
Input=scores,coords
Type=Anchor
Anchor[0]=8 1.0
AnchorBBOX[1]=-4 -2 12 6
ConfigSection=anchors.config

[anchors.config]
PositiveIoU=0.7
LossLambda=1.0

[proposals]
Input=anchors
Type=RP
NbAnchors=2
NbProposals=6
NMS_IoU_Threshold=0.5

[roi]
Input=proposals,feat
Type=ROIPooling
OutputsWidth=2
OutputsHeight=2
NbOutputs=3
Pooling=Max

[fc]
Input=roi
Type=Fc
NbOutputs=4
"""


def location_of(text: str, section: str, key: str) -> tuple[int, int]:
    """(line, col) of the value of ``key`` in ``[section]`` of ``text`` as written to disk."""
    lines = text.lstrip("\n").splitlines()
    for number in range(lines.index(f"[{section}]"), len(lines)):
        if lines[number].startswith(f"{key}="):
            return number + 1, len(key) + 2
    raise AssertionError(key)


def test_lowering_builds_one_op_per_layer(lower):
    g = lower(NET)
    verify(g)
    anchor = g.ops_of(ops.AnchorBoxes)[0]
    assert [v.name for v in anchor.inputs] == ["scores", "coords"]  # not concatenated
    # 8*8 area, ratio 1 -> 8x8 from (0, 0); AnchorBBOX continues the index: x1 = w + x0 - 1
    assert anchor.anchors == (0.0, 0.0, 7.0, 7.0, -4.0, -2.0, 7.0, 3.0)
    assert anchor.feature_map == (24, 32) and anchor.box_scale == (1.0, 1.0)
    rp = g.ops_of(ops.RegionProposal)[0]
    assert (rp.nb_anchors, rp.nb_proposals, rp.nms_iou, rp.pre_nms_top_n) == (2, 6, 0.5, 0)
    roi = g.ops_of(ops.RoiPool)[0]
    assert [v.name for v in roi.inputs] == ["proposals", "feat"]
    assert (roi.size, roi.mode, roi.image, roi.ceil_ratio) == ((2, 2), "max", (24, 32), True)
    layers = g.metadata["layers"]
    assert layers["anchors"]["shape"] == [1, 12, 12, 16]
    assert layers["proposals"]["shape"] == [6, 4]
    assert layers["roi"]["shape"] == [6, 3, 2, 2]
    assert layers["fc"]["shape"] == [6, 4]
    assert layers["anchors"]["training_only"] == {"PositiveIoU": "0.7", "LossLambda": "1.0"}
    assert not any("anchors" in w for w in g.metadata["warnings"])
    assert print_graph(parse_graph(print_graph(g, inline_limit=None)), inline_limit=None) == \
        print_graph(g, inline_limit=None)


def _roi_max(fmap, box, stride):
    """Max over the 2x2 bins of ``box`` (stimulus pixels) on ``fmap`` [C, H, W], in float32."""
    f = np.float32
    x, y, w, h = (f(v / stride) for v in box)
    height, width = fmap.shape[1:]
    if x + w > width:
        w = f(width) - x
    if y + h > height:
        h = f(height) - y
    out = np.zeros((fmap.shape[0], 2, 2), f)
    for i in range(2):
        for j in range(2):
            y0, y1 = int(y + f(i) * (h / f(2))), int(y + f(i + 1) * (h / f(2)))
            x0, x1 = int(x + f(j) * (w / f(2))), int(x + f(j + 1) * (w / f(2)))
            if y1 > y0 and x1 > x0:
                out[:, i, j] = fmap[:, y0:y1, x0:x1].max(axis=(1, 2))
    return out


def test_simulation_batches_images_times_proposals(lower):
    g = lower(NET, batch_size=2, seed=4)
    by_name = {v.name: v for v in g.values()}
    g.outputs = [by_name[n] for n in ("feat", "anchors", "proposals", "roi", "fc")]
    feat, anchors, proposals, roi, fc = simulate(g, random_input(g, seed=1)).values()
    assert proposals.shape == (12, 4) and roi.shape == (12, 3, 2, 2) and fc.shape == (12, 4)
    for image in range(2):
        boxes = anchors[image, 2:10].reshape(4, -1).T  # (x, y, w, h) of every anchor/cell
        for row in range(6 * image, 6 * image + 6):
            if proposals[row].any():
                assert (boxes == proposals[row]).all(axis=1).any(), row
            np.testing.assert_array_equal(roi[row], _roi_max(feat[image], proposals[row], 2))


def test_ratios_scales_anchoring_and_models(lower):
    text = NET.replace("Anchor[0]=8 1.0\nAnchorBBOX[1]=-4 -2 12 6\n",
                       "RootArea=16\nRatios=0.5\nScales=1 2\nAnchoring=Centered\n"
                       "Model=Frame_CUDA\nFlip=1\nFeatureMapWidth=16\n")
    text = text.replace("Pooling=Max", "Pooling=BilinearTF\nModel=Frame_CUDA")
    g = lower(text)
    anchor = g.ops_of(ops.AnchorBoxes)[0]
    # area 256, ratio 0.5: round(sqrt(512)) = 23 wide, round(11.5) = 12 high; scale 2: 46x24.
    # Flip moves them by 32 - 1 - 15 * 2 = 1 in x and 24 - 1 - 11 * 2 = 1 in y.
    assert anchor.anchors == (-10.0, -4.5, 12.0, 6.5, -21.5, -10.5, 23.5, 12.5)
    assert anchor.flip and anchor.feature_map == (24, 16)
    # Frame_CUDA maps boxes with image / (feature map - 1)
    assert anchor.box_scale == (float(np.float32(24) / np.float32(23)),
                                float(np.float32(32) / np.float32(15)))
    roi = g.ops_of(ops.RoiPool)[0]
    assert roi.mode == "bilinear_tf" and roi.ceil_ratio  # bilinear always rounds up
    g = lower(NET.replace("Pooling=Max", "Pooling=Average\nModel=Frame_CUDA"))
    assert not g.ops_of(ops.RoiPool)[0].ceil_ratio


@pytest.mark.parametrize("old, new, section, key, message", [
    ("Anchor[0]=8 1.0", "Anchor[0]=8", "anchors", "Anchor[0]",
     "[anchors]Anchor[0]: expects 2 numbers, got 1"),
    ("Anchor[0]=8 1.0", "Anchor[0]=8.5 1.0", "anchors", "Anchor[0]",
     "positive integer root area"),
    ("NbOutputs=8\n", "NbOutputs=9\n", "anchors", "Input", "[anchors]Input: the inputs have "
     "11 channels; 2 anchors with ScoresCls=0 need (ScoresCls + 5) x 2 = 10"),
    ("Input=scores,coords", "Input=coords,scores", "anchors", "Input",
     "with two inputs, [coords] holds the scores (>= 2 channels) and [scores] the box deltas"),
    ("NbAnchors=2", "NbAnchors=3", "proposals", "NbAnchors",
     "3 anchors need 5 x 3 input channels (score block 0, boxes in blocks 1-4)"),
    ("Pooling=Max", "Pooling=Nearest", "roi", "Pooling",
     "'Nearest' is not one of Max, Average, Bilinear, BilinearTF"),
    ("NbOutputs=3\n", "NbOutputs=4\n", "roi", "NbOutputs",
     "[roi]NbOutputs: is 4, but the feature maps (feat) have 3 channels in all"),
    ("Input=proposals,feat", "Input=feat,feat", "roi", "Input",
     "must hold 4 values (x, y, w, h) per proposal"),
])
def test_bad_properties_are_located(tmp_path: Path, lower, old, new, section, key, message):
    text = NET.replace(old, new, 1)
    err = error_of(lower, text)
    assert isinstance(err, InputError) and not isinstance(err, UnsupportedError)
    assert message in str(err), str(err)
    assert_at(err, tmp_path / "net.ini", *location_of(text, section, key))


def test_missing_and_unsupported_settings(lower):
    err = error_of(lower, NET.replace("Pooling=Max\n", ""))
    assert "section [roi] needs the property Pooling" in str(err)
    err = error_of(lower, NET.replace("Anchor[0]=8 1.0\nAnchorBBOX[1]=-4 -2 12 6\n", ""))
    assert "[anchors]: defines no anchor" in str(err)
    err = error_of(lower, NET.replace("LossLambda=1.0", "SingleShot=1"))
    assert isinstance(err, UnsupportedError) and "[anchors]SingleShot" in str(err)
    # AnchorBBOX[0] after Anchor[0] is not read by N2D2 (the index runs on): a warning.
    g = lower(NET.replace("AnchorBBOX[1]", "AnchorBBOX[0]").replace(
        "NbOutputs=2\nActivationFunction", "NbOutputs=1\nActivationFunction").replace(
        "NbOutputs=8\n", "NbOutputs=4\n").replace("NbAnchors=2", "NbAnchors=1"))
    assert len(g.ops_of(ops.AnchorBoxes)[0].anchors) == 4
    assert any("does not use AnchorBBOX[0]" in w for w in g.metadata["warnings"])


@pytest.mark.parametrize("backend, message", [
    ("cpp", "'anchors/anchors' (anchor_boxes): no C kernel for op 'anchor_boxes'"),
    ("onnx", "op 'anchor_boxes' (node 'anchors/anchors') has no ONNX mapping"),
])
def test_backends_refuse_detection_ops(tmp_path: Path, lower, backend, message):
    import n2d2c
    with pytest.raises(UnsupportedError) as info:
        n2d2c.compile(lower(NET), tmp_path / "out", backend=backend)
    assert message in str(info.value) and info.value.exit_code == 4
    assert not (tmp_path / "out").exists()


# -- the corpus Faster R-CNN ---------------------------------------------------------------

FASTER_RCNN = "models/IMDBWIKI_FasterRCNN.ini"


def _faster_rcnn(corpus: Path, init: str):
    return load_ini_network(corpus / FASTER_RCNN, env=corpus_env(corpus), allow_dirs=[corpus],
                            init=init)


def test_faster_rcnn_lowers_with_rp_targets(corpus: Path) -> None:
    g = _faster_rcnn(corpus, "zeros")
    verify(g)
    layers = g.metadata["layers"]
    assert layers["anchors"]["shape"] == [1, 54, 45, 60]
    assert layers["proposals"]["shape"] == [32, 4]
    assert layers["roi_pool"]["shape"] == [32, 128, 7, 7]
    assert [(v.name, v.shape) for v in g.outputs] == [("soft.category", (32, 3)),
                                                      ("fc2.bbox_reg", (32, 4))]
    targets = g.metadata["targets"]
    cls, bbox = targets["soft.category"][0], targets["fc2.bbox_reg"][0]
    assert cls["type"] == bbox["type"] == "TargetRP"
    assert cls["links"] == bbox["links"] == {"RP": "proposals", "Anchor": "anchors"}
    assert (cls["properties"]["TargetType"], bbox["properties"]["TargetType"]) == ("Cls", "BBox")
    # roi_pool has no Model: DefaultModel=Frame_CUDA, whose max kernel divides exactly
    assert not g.ops_of(ops.RoiPool)[0].ceil_ratio


@pytest.mark.slow
def test_faster_rcnn_simulates(corpus: Path) -> None:
    # Zero weights (NoBias=1): every score is sigmoid(0) and every delta 0, so the boxes are
    # the 32x32 anchors (31 wide) on an 8-pixel grid; equal scores keep (anchor, y, x) order
    # and neighbours overlap by IoU 713/1209 < 0.7: the first row of anchor 0 is proposed.
    g = _faster_rcnn(corpus, "zeros")
    by_name = {v.name: v for v in g.values()}
    g.outputs = g.outputs + [by_name["proposals"]]
    cls, bbox, proposals = simulate(g, random_input(g)).values()
    want = np.array([[8 * i, 0, 31, 31] for i in range(32)], np.float32)
    np.testing.assert_array_equal(proposals, want)
    np.testing.assert_allclose(cls, 1 / 3, rtol=1e-6)
    # Random weights: proposals stay inside the 480x360 stimulus, classes sum to one.
    g = _faster_rcnn(corpus, "fillers")
    g.outputs = g.outputs + [next(v for v in g.values() if v.name == "proposals")]
    cls, bbox, proposals = simulate(g, random_input(g, seed=2)).values()
    assert np.isfinite(bbox).all() and (proposals[:, 2:] >= 0).all()
    assert (proposals[:, 0] + proposals[:, 2] <= 479 + 1e-3).all()
    assert (proposals[:, 1] + proposals[:, 3] <= 359 + 1e-3).all()
    np.testing.assert_allclose(cls.sum(axis=1), 1.0, rtol=1e-5)
