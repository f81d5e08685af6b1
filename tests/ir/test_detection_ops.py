"""anchor_boxes / region_proposal / roi_pool: shape rules, errors, textual IR round trip."""

import pytest

from n2d2c.errors import ShapeError
from n2d2c.ir import Graph, TensorType, ops, parse_graph, print_graph, verify

TWO_ANCHORS = (0.0, 0.0, 31.0, 31.0, -8.0, -4.0, 23.0, 11.0)


def detection_graph(batch: int = 2) -> Graph:
    g = Graph("rcnn")
    feat = g.add_input("feat", TensorType((batch, 8, 6, 5)))
    scores = g.add_input("scores", TensorType((batch, 2, 6, 5)))
    deltas = g.add_input("deltas", TensorType((batch, 8, 6, 5)))
    boxes = g.add(ops.AnchorBoxes(name="anchors", anchors=TWO_ANCHORS, feature_map=(48, 40),
                                  box_scale=(1.0, 1.0020876826722338), flip=True),
                  [scores, deltas]).output
    props = g.add(ops.RegionProposal(name="rp", nb_anchors=2, nb_proposals=3, nms_iou=0.5,
                                     min_width=1.5, pre_nms_top_n=20), [boxes]).output
    pooled = g.add(ops.RoiPool(name="roi", size=(2, 3), mode="bilinear_tf", image=(48, 40),
                               ceil_ratio=False, ignore_padding=True), [props, feat, feat])
    g.outputs = [pooled.output]
    return g


def test_shapes():
    g = detection_graph()
    verify(g)
    assert [op.output.shape for op in g.ops] == [(2, 12, 6, 5), (6, 4), (6, 16, 2, 3)]


def test_textual_ir_round_trips():
    text = print_graph(detection_graph())
    assert "anchor_boxes(%scores, %deltas) {anchors = [0.0, 0.0, 31.0, 31.0, -8.0" in text
    assert "box_scale = [1.0, 1.0020876826722338]" in text and "flip = true" in text
    assert 'mode = "bilinear_tf"' in text and "ceil_ratio = false" in text
    assert "score_index" not in text  # defaults are not printed
    again = parse_graph(text)
    verify(again)
    assert print_graph(again) == text
    assert again.find_op("anchors").anchors == TWO_ANCHORS


def test_single_operand_anchor_holds_scores_then_deltas():
    g = Graph()
    x = g.add_input("x", TensorType((1, 12, 4, 4)))
    op = g.add(ops.AnchorBoxes(anchors=TWO_ANCHORS, scores_cls=1), [x])
    assert op.output.shape == (1, 12, 4, 4)


def _add(op, *types):
    g = Graph()
    return g.add(op, [g.add_input(f"x{i}", t) for i, t in enumerate(types)])


@pytest.mark.parametrize("op, types, message", [
    (ops.AnchorBoxes(anchors=(0.0, 0.0, 1.0)), [(1, 5, 2, 2)], "4 values (x0 y0 x1 y1)"),
    (ops.AnchorBoxes(anchors=TWO_ANCHORS), [(1, 2, 2, 2), (1, 9, 2, 2)],
     "11 channels; 2 anchors with scores_cls = 0 need (scores_cls + 5) * 2 = 10"),
    (ops.AnchorBoxes(anchors=TWO_ANCHORS), [(1, 2, 2, 2), (1, 8, 2, 3)],
     "same batch, height and width"),
    (ops.AnchorBoxes(anchors=TWO_ANCHORS), [(1, 1, 2, 2), (1, 9, 2, 2)],
     "scores need >= 2 channels"),
    (ops.AnchorBoxes(anchors=TWO_ANCHORS, feature_map=(0, 4)), [(1, 10, 2, 2)],
     "feature_map must be two positive values"),
    (ops.RegionProposal(nb_anchors=2), [(1, 9, 2, 2)], "reads 5 blocks of 2 channels"),
    (ops.RegionProposal(nb_anchors=2, score_index=5), [(1, 10, 2, 2)], "reads 6 blocks"),
    (ops.RegionProposal(nb_proposals=0), [(1, 10, 2, 2)], "must be positive"),
    (ops.RoiPool(), [(4, 5), (1, 3, 4, 4)], "must be the [rows, 4] proposals"),
    (ops.RoiPool(), [(5, 4), (2, 3, 4, 4)], "5 proposals do not split evenly over the 2"),
    (ops.RoiPool(), [(4, 4), (2, 3, 4, 4), (1, 3, 4, 4)], "same batch"),
    (ops.RoiPool(mode="nearest"), [(4, 4), (1, 3, 4, 4)], "mode 'nearest' is not one of"),
    (ops.RoiPool(mode="bilinear_tf", size=(1, 4)), [(4, 4), (1, 3, 4, 4)], "at least 2x2"),
])
def test_shape_errors_name_the_op(op, types, message):
    op.name = "det"
    with pytest.raises(ShapeError) as info:
        _add(op, *[TensorType(s) for s in types])
    assert message in str(info.value) and f"'det' ({op.OP_NAME})" in str(info.value)


def test_roi_pool_needs_a_feature_map():
    g = Graph()
    x = g.add_input("x", TensorType((4, 4)))
    with pytest.raises(ShapeError, match="expects 2..n operands, got 1"):
        g.add(ops.RoiPool(name="roi"), [x])
