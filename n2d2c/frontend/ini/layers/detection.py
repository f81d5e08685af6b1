"""Faster R-CNN layers: ``Anchor``, ``RP`` (region proposals) and ``ROIPooling``.

Each lowers to one op of ``n2d2c/ir/ops/detection.py``; their inputs are never
concatenated (``Input=scores,coordinates`` names the scores and the deltas,
``Input=proposals,conv`` the boxes and the feature maps).  The stimulus size
is the graph input's (N2D2's ``[sp]SizeX``/``SizeY``).

* Anchor: anchors are listed as ``Anchor[i]=<root area> <ratio>`` (an anchor
  ``round(sqrt(area/ratio))`` wide and ``round(width*ratio)`` high, placed by
  ``Anchoring`` [TopLeft]), ``AnchorBBOX[i]=x0 y0 w h``, ``AnchorXY[i]=x0 y0``
  (``|2 x0|`` by ``|2 y0|``), the index running on from one form to the next as
  in N2D2, then every ``Ratios`` x ``Scales`` pair with ``RootArea`` [16].
  ``ScoresCls`` [0], ``FeatureMapWidth``/``Height`` [stimulus size], ``Flip``
  [0].  The IoU/loss settings only matter for training.
* RP: ``NbAnchors``, ``NbProposals``, ``ScoreIndex`` [0], ``MinWidth``/
  ``MinHeight`` [0], ``NMS_IoU_Threshold`` [0.7], ``Pre_NMS_TopN`` [0 = all].
  Its output is ``[N*NbProposals, 4]``: the layers after it see a batch of
  N x NbProposals rows, as in N2D2.
* ROIPooling: ``OutputsWidth``, ``OutputsHeight``, ``NbOutputs`` (the feature
  maps' channels in all), ``Pooling`` (Max, Average, Bilinear, BilinearTF; no
  default in N2D2), ``Flip`` and ``IgnorePadding`` [0] (bilinear only).
"""

from __future__ import annotations

import math

import numpy as np

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from . import layer

ANCHORING = ("TopLeft", "Centered", "Original", "OriginalFlipped")
POOLING = {"Max": "max", "Average": "average", "Bilinear": "bilinear",
           "BilinearTF": "bilinear_tf"}
ANCHOR_TRAINING = ("PositiveIoU", "NegativeIoU", "LossLambda", "LossPositiveSample",
                   "LossNegativeSample", "NegativeRatio", "MaxLabelPerFrame", "NbClass",
                   "LabelMapping", "GenerateAnchors")
RP_TRAINING = ("IoUIndex", "ForegroundRate", "ForegroundMinIoU", "BackgroundMaxIoU",
               "BackgroundMinIoU")


def _f32(value: float) -> float:
    """N2D2 keeps anchor corners as C floats."""
    return float(np.float32(value))


def _round(value: float) -> float:
    """N2D2's round(): half away from zero, on a float argument."""
    value = _f32(value)
    return float(math.ceil(value - 0.5) if value < 0 else math.floor(value + 0.5))


def _stimulus_size(ctx: LayerContext) -> tuple[int, int]:
    """(height, width) of the stimulus: the frame N2D2's boxes are given in."""
    _, _, height, width = nchw(ctx.builder.cells[ctx.builder.stimuli_name])
    return height, width


def _model(ctx: LayerContext) -> str:
    return ctx.props.str("Model", ctx.builder.default_model or "Frame")


def _record_training(ctx: LayerContext, keys: tuple[str, ...]) -> None:
    present = [k for k in keys if k in ctx.props]
    if present:
        ctx.info["training_only"] = {k: ctx.props.text(k) for k in present}
        ctx.props.read.update(present)


# -- Anchor ------------------------------------------------------------------------------

def _sized_anchor(area: int, ratio: float, scale: float, anchoring: str) -> tuple[float, ...]:
    width = _round(math.sqrt(area / ratio))
    height = _round(width * ratio)
    ws, hs = width * scale, height * scale
    if anchoring == "TopLeft":
        x0 = y0 = 0.0
    elif anchoring == "Centered":
        x0, y0 = -(ws - 1) / 2.0, -(hs - 1) / 2.0
    else:
        centre = (math.sqrt(area) - 1.0) / 2.0
        if anchoring == "OriginalFlipped":
            centre = -centre
        x0, y0 = centre - (ws - 1) / 2.0, centre - (hs - 1) / 2.0
    x0, y0 = _f32(x0), _f32(y0)
    return x0, y0, _f32(x0 + ws - 1), _f32(y0 + hs - 1)


def _boxed_anchor(x0: float, y0: float, w: float, h: float) -> tuple[float, ...]:
    x0, y0, w, h = _f32(x0), _f32(y0), _f32(w), _f32(h)
    return x0, y0, _f32(_f32(w + x0) - 1), _f32(_f32(h + y0) - 1)


def _numbers(ctx: LayerContext, key: str, count: int) -> list[float]:
    values = ctx.props.list(key, item=float)
    if len(values) != count:
        raise ctx.props.error(key, f"expects {count} numbers, got {len(values)}")
    return values


def _anchors(ctx: LayerContext) -> list[tuple[float, ...]]:
    props = ctx.props
    anchoring = props.choice("Anchoring", ANCHORING, "TopLeft")
    anchors: list[tuple[float, ...]] = []
    while f"Anchor[{len(anchors)}]" in props:
        key = f"Anchor[{len(anchors)}]"
        root, ratio = _numbers(ctx, key, 2)
        if root != int(root) or root <= 0 or ratio <= 0:
            raise props.error(key, f"expects '<root area> <ratio>' with a positive integer root "
                                   f"area and a positive ratio, got {props.raw(key)!r}")
        anchors.append(_sized_anchor(int(root) ** 2, ratio, 1.0, anchoring))
    while f"AnchorBBOX[{len(anchors)}]" in props:
        anchors.append(_boxed_anchor(*_numbers(ctx, f"AnchorBBOX[{len(anchors)}]", 4)))
    while f"AnchorXY[{len(anchors)}]" in props:
        x0, y0 = _numbers(ctx, f"AnchorXY[{len(anchors)}]", 2)
        anchors.append(_boxed_anchor(x0, y0, abs(2 * x0), abs(2 * y0)))
    ratios = props.list("Ratios", item=float, default=[])
    scales = props.list("Scales", item=float, default=[1.0])
    area = int(props.float("RootArea", 16.0) ** 2)
    for ratio in ratios:
        for scale in scales:
            if ratio <= 0 or scale <= 0 or area <= 0:
                raise props.error("Ratios", f"ratios, scales and RootArea must be positive, got "
                                            f"ratio {ratio}, scale {scale}, area {area}")
            anchors.append(_sized_anchor(area, ratio, scale, anchoring))
    if not anchors:
        raise props.error(None, "defines no anchor: give Anchor[0]=<root area> <ratio>, "
                                "AnchorBBOX[0]=x0 y0 w h, AnchorXY[0]=x0 y0 or Ratios")
    return anchors


@layer("Anchor", activation=False, concat=False)
def anchor(ctx: LayerContext) -> Value:
    props = ctx.props
    if len(ctx.inputs) > 2:
        raise props.error("Input", f"an Anchor layer reads the scores and the box deltas (one or "
                                   f"two inputs), got {len(ctx.inputs)}")
    if props.bool("SingleShot", False):
        raise props.unsupported("SingleShot", "single-shot (SSD) anchors are not supported; "
                                              "n2d2c lowers the Faster R-CNN mode")
    if props.bool("GenerateAnchors", False) and "LabelMapping" in props:
        raise props.unsupported("GenerateAnchors", "anchors computed by k-means over the "
                                                   "dataset's boxes cannot be known when compiling")
    inputs = [ctx.as4d(v) for v in ctx.inputs]
    anchors = _anchors(ctx)
    scores_cls = props.positive("ScoresCls", 0, zero_ok=True)
    _, _, height, width = nchw(inputs[0])
    if any(nchw(v)[2:] != (height, width) for v in inputs):
        raise props.error("Input", "the scores and the box deltas must have the same width and "
                                   "height")
    channels = sum(nchw(v)[1] for v in inputs)
    if channels != (scores_cls + 5) * len(anchors):
        raise props.error("Input", f"the inputs have {channels} channels; {len(anchors)} anchors "
                                   f"with ScoresCls={scores_cls} need (ScoresCls + 5) x "
                                   f"{len(anchors)} = {(scores_cls + 5) * len(anchors)}")
    if len(inputs) == 2 and (nchw(inputs[0])[1] < len(anchors)
                             or nchw(inputs[1])[1] < 4 * len(anchors)):
        raise props.error("Input", f"with two inputs, [{ctx.input_names[0]}] holds the scores "
                                   f"(>= {len(anchors)} channels) and [{ctx.input_names[1]}] "
                                   f"the box deltas (>= {4 * len(anchors)} channels)")
    image_h, image_w = _stimulus_size(ctx)
    fm_w = props.positive("FeatureMapWidth", 0, zero_ok=True) or image_w
    fm_h = props.positive("FeatureMapHeight", 0, zero_ok=True) or image_h
    flip = props.bool("Flip", False)
    if flip:
        # N2D2 moves the anchors so that the last cell's box ends on the stimulus edge.
        dx = image_w - 1 - (width - 1) * math.ceil(image_w / width)
        dy = image_h - 1 - (height - 1) * math.ceil(image_h / height)
        anchors = [(_f32(a[0] + dx), _f32(a[1] + dy), _f32(a[2] + dx), _f32(a[3] + dy))
                   for a in anchors]
    model = _model(ctx)
    if model.endswith("_CUDA"):
        # N2D2's CUDA kernel maps the clipped boxes with image / (feature map - 1).
        if min(fm_w, fm_h) < 2:
            raise props.error(None, f"Model={model} divides by the feature map size minus 1, "
                                    f"which is 0 for a {fm_w}x{fm_h} feature map")
        scale = (np.float32(image_h) / np.float32(fm_h - 1),
                 np.float32(image_w) / np.float32(fm_w - 1))
    else:
        scale = (np.float32(image_h) / np.float32(fm_h), np.float32(image_w) / np.float32(fm_w))
    _record_training(ctx, ANCHOR_TRAINING)
    ctx.info.update(anchors=[list(a) for a in anchors], scores_cls=scores_cls,
                    feature_map=[fm_w, fm_h], flip=flip)
    op = O.AnchorBoxes(anchors=tuple(v for a in anchors for v in a), feature_map=(fm_h, fm_w),
                       box_scale=(float(scale[0]), float(scale[1])), scores_cls=scores_cls,
                       flip=flip)
    return ctx.emit(op, inputs, "anchors")


# -- RP ---------------------------------------------------------------------------------

@layer("RP", activation=False, concat=False)
def region_proposals(ctx: LayerContext) -> Value:
    props = ctx.props
    x = ctx.as4d(ctx.single_input())
    nb_anchors = props.positive("NbAnchors")
    nb_proposals = props.positive("NbProposals")
    score_index = props.positive("ScoreIndex", 0, zero_ok=True)
    channels = nchw(x)[1]
    blocks = max(score_index, 4) + 1
    if channels < blocks * nb_anchors:
        raise props.error("NbAnchors", f"{nb_anchors} anchors need {blocks} x {nb_anchors} input "
                                       f"channels (score block {score_index}, boxes in blocks "
                                       f"1-4), but [{ctx.input_names[0]}] has {channels}")
    nms = props.float("NMS_IoU_Threshold", 0.7)
    min_width = props.float("MinWidth", 0.0)
    min_height = props.float("MinHeight", 0.0)
    top_n = props.positive("Pre_NMS_TopN", 0, zero_ok=True)
    _record_training(ctx, RP_TRAINING)
    ctx.info.update(nb_anchors=nb_anchors, nb_proposals=nb_proposals, nms_iou=nms,
                    pre_nms_top_n=top_n)
    op = O.RegionProposal(nb_anchors=nb_anchors, nb_proposals=nb_proposals,
                          score_index=score_index, min_width=min_width, min_height=min_height,
                          nms_iou=nms, pre_nms_top_n=top_n)
    return ctx.emit(op, [x], "proposals")


# -- ROIPooling --------------------------------------------------------------------------

@layer("ROIPooling", activation=False, concat=False)
def roi_pooling(ctx: LayerContext) -> Value:
    props = ctx.props
    if len(ctx.inputs) < 2:
        raise props.error("Input", "ROIPooling reads the proposals then one or more feature "
                                   f"maps, got {len(ctx.inputs)} input")
    proposals, maps = ctx.inputs[0], [ctx.as4d(v) for v in ctx.inputs[1:]]
    n, c, h, w = nchw(proposals)
    if c * h * w != 4:
        raise props.error("Input", f"the first input [{ctx.input_names[0]}] must hold 4 values "
                                   f"(x, y, w, h) per proposal, got {c}x{h}x{w}")
    proposals = ctx.flat(proposals)
    images = nchw(maps[0])[0]
    if any(nchw(m)[0] != images for m in maps) or n % images:
        raise props.error("Input", f"{n} proposals do not split evenly over the {images} "
                                   "images of the feature maps")
    size = (props.positive("OutputsHeight"), props.positive("OutputsWidth"))
    pooling = props.choice("Pooling", tuple(POOLING))
    mode = POOLING[pooling]
    if mode == "bilinear_tf" and min(size) < 2:
        raise props.error(None, "Pooling=BilinearTF needs OutputsWidth and OutputsHeight >= 2")
    channels = sum(nchw(m)[1] for m in maps)
    declared = ctx.nb_outputs()
    if declared != channels:
        names = ", ".join(ctx.input_names[1:])
        raise props.error("NbOutputs", f"is {declared}, but the feature maps ({names}) have "
                                       f"{channels} channels in all")
    flip = props.bool("Flip", False)
    ignore_padding = props.bool("IgnorePadding", False)
    # N2D2's Frame cell rounds the stimulus/map ratio up; its CUDA max/average kernels do not.
    ceil_ratio = mode.startswith("bilinear") or not _model(ctx).endswith("_CUDA")
    ctx.info.update(pooling=pooling, outputs_size=[size[1], size[0]],
                    proposals_per_image=n // images)
    op = O.RoiPool(size=size, mode=mode, image=_stimulus_size(ctx), ceil_ratio=ceil_ratio,
                   flip=flip, ignore_padding=ignore_padding)
    return ctx.emit(op, [proposals, *maps], "roi_pool")

