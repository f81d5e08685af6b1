"""Two-stage detection (Faster R-CNN): anchor boxes, region proposals, ROI pooling.

These are N2D2's ``Anchor``, ``RP`` and ``ROIPooling`` cells at inference.
Their results depend on the data (which boxes survive sorting and
non-maximum suppression), but their *shapes* do not, so they are ordinary
static-shape ops:

* ``anchor_boxes``  [N, A, H, W] scores + [N, 4A, H, W] deltas -> [N, 6A, H, W]
  (channel blocks: score, x, y, w, h, IoU; boxes in stimulus pixels);
* ``region_proposal``  [N, >=5A, H, W] -> [N*P, 4] (x, y, w, h per proposal:
  rows ``n*P .. n*P+P-1`` belong to image ``n``, as N2D2 turns the batch into
  N x P);
* ``roi_pool``  [N*P, 4] proposals + feature maps [N, C_i, H_i, W_i] ->
  [N*P, sum C_i, oh, ow].

Pairs of sizes are (height, width), the IR's order; boxes are (x, y, w, h) as
N2D2 writes them.  What the ops compute is documented with their kernels
(``n2d2c/runtime/kernels/detection.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Operation
from .registry import register_op


def _check_pair(op: Operation, name: str, pair: tuple, *, positive: bool = True) -> None:
    if len(pair) != 2 or (positive and any(v <= 0 for v in pair)):
        raise op.error(f"{name} must be two positive values, got {list(pair)}")


@register_op
@dataclass(eq=False, kw_only=True)
class AnchorBoxes(Operation):
    """Decode RPN box deltas at every (anchor, position) into boxes.

    One operand holds the scores then the deltas (N2D2 reads the deltas from
    channel block ``scores_cls``); two operands are the scores and the deltas.
    Either way the operands hold ``(scores_cls + 5) * A`` channels in all.
    """

    OP_NAME = "anchor_boxes"
    ARITY = (1, 2)

    #: x0, y0, x1, y1 of each anchor at position (0, 0), in feature-map pixels
    anchors: tuple[float, ...] = ()
    #: (height, width) of the frame the boxes are clipped to (N2D2's FeatureMap*)
    feature_map: tuple[int, int] = (1, 1)
    #: (y, x) factors from that frame to stimulus pixels, applied last
    box_scale: tuple[float, float] = (1.0, 1.0)
    scores_cls: int = 0
    #: negate the x/y deltas (anchors trained on flipped images)
    flip: bool = False

    @property
    def nb_anchors(self) -> int:
        return len(self.anchors) // 4

    def infer(self, types):
        if not self.anchors or len(self.anchors) % 4:
            raise self.error(f"anchors must be 4 values (x0 y0 x1 y1) per anchor, got "
                             f"{len(self.anchors)} values")
        _check_pair(self, "feature_map", self.feature_map)
        _check_pair(self, "box_scale", self.box_scale)
        if self.scores_cls < 0:
            raise self.error(f"scores_cls must be >= 0, got {self.scores_cls}")
        if any(t.rank != 4 for t in types):
            raise self.error(f"expects 4-D (NCHW) operands, got {[str(t) for t in types]}")
        n, _, h, w = types[0].shape
        if any(t.shape[0] != n or t.shape[2:] != (h, w) for t in types):
            raise self.error(f"scores and deltas must have the same batch, height and width, "
                             f"got {[str(t) for t in types]}")
        a = self.nb_anchors
        total = sum(t.shape[1] for t in types)
        if total != (self.scores_cls + 5) * a:
            raise self.error(f"operands have {total} channels; {a} anchors with scores_cls = "
                             f"{self.scores_cls} need (scores_cls + 5) * {a} = "
                             f"{(self.scores_cls + 5) * a}")
        if len(types) == 2 and (types[0].shape[1] < a or types[1].shape[1] < 4 * a):
            raise self.error(f"with two operands the scores need >= {a} channels and the "
                             f"deltas >= {4 * a}, got {types[0].shape[1]} and "
                             f"{types[1].shape[1]}")
        return [types[0].with_shape((n, 6 * a, h, w))]


@register_op
@dataclass(eq=False, kw_only=True)
class RegionProposal(Operation):
    """Keep the best-scoring boxes of each image after non-maximum suppression."""

    OP_NAME = "region_proposal"

    nb_anchors: int = 1
    nb_proposals: int = 1
    #: channel block of the score (block 1..4 are x, y, w, h)
    score_index: int = 0
    min_width: float = 0.0
    min_height: float = 0.0
    nms_iou: float = 0.7
    #: keep only this many best boxes before the suppression (0: all)
    pre_nms_top_n: int = 0

    def infer(self, types):
        x = types[0]
        if self.nb_anchors <= 0 or self.nb_proposals <= 0 or self.pre_nms_top_n < 0:
            raise self.error(f"nb_anchors and nb_proposals must be positive and pre_nms_top_n "
                             f">= 0, got {self.nb_anchors}, {self.nb_proposals}, "
                             f"{self.pre_nms_top_n}")
        if x.rank != 4:
            raise self.error(f"expects a 4-D (NCHW) operand, got {x}")
        blocks = max(self.score_index, 4) + 1
        if self.score_index < 0 or x.shape[1] < blocks * self.nb_anchors:
            raise self.error(f"reads {blocks} blocks of {self.nb_anchors} channels (score block "
                             f"{self.score_index}, boxes in blocks 1-4), but the operand has "
                             f"{x.shape[1]} channels")
        return [x.with_shape((x.shape[0] * self.nb_proposals, 4))]


@register_op
@dataclass(eq=False, kw_only=True)
class RoiPool(Operation):
    """Pool each proposal's box of the feature maps to a fixed ``size`` grid.

    Operand 0 holds the boxes in stimulus pixels, one row per proposal; row
    ``r`` reads image ``r // (rows / N)`` of each feature map.  A map of width
    ``W`` is ``image[1] / W`` stimulus pixels per cell, rounded up when
    ``ceil_ratio`` or in the bilinear modes (N2D2's Frame model; its CUDA
    max/average kernels divide exactly).
    """

    OP_NAME = "roi_pool"
    ARITY = (2, None)
    MODES = ("max", "average", "bilinear", "bilinear_tf")

    #: (height, width) of the output grid
    size: tuple[int, int] = (1, 1)
    mode: str = "max"
    #: (height, width) of the stimulus the boxes are given in
    image: tuple[int, int] = (1, 1)
    ceil_ratio: bool = True
    #: bilinear only: boxes from a flipped frame (N2D2's ``Flip``)
    flip: bool = False
    #: bilinear only: samples whose 2x2 neighbourhood leaves the map give 0
    ignore_padding: bool = False

    def infer(self, types):
        _check_pair(self, "size", self.size)
        _check_pair(self, "image", self.image)
        if self.mode not in self.MODES:
            raise self.error(f"mode {self.mode!r} is not one of {list(self.MODES)}")
        if self.mode == "bilinear_tf" and min(self.size) < 2:
            raise self.error(f"bilinear_tf samples the box corners and needs an output of at "
                             f"least 2x2, got {self.size[0]}x{self.size[1]}")
        boxes, maps = types[0], types[1:]
        if boxes.rank != 2 or boxes.shape[1] != 4:
            raise self.error(f"operand 0 must be the [rows, 4] proposals, got {boxes}")
        if any(t.rank != 4 for t in maps):
            raise self.error(f"feature maps must be 4-D (NCHW), got {[str(t) for t in maps]}")
        n = maps[0].shape[0]
        if any(t.shape[0] != n for t in maps):
            raise self.error(f"feature maps must have the same batch, got "
                             f"{[str(t) for t in maps]}")
        if n == 0 or boxes.shape[0] % n:
            raise self.error(f"{boxes.shape[0]} proposals do not split evenly over the "
                             f"{n} images of the feature maps")
        channels = sum(t.shape[1] for t in maps)
        return [maps[0].with_shape((boxes.shape[0], channels) + tuple(self.size))]
