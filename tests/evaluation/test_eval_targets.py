"""`n2d2c eval` with Target semantics: an INI target section (LabelsMapping, TopN), and a
pixel-wise segmentation network whose output is 2x smaller than its labels (macro-pixel
targets with WeakTarget), checked against onnxruntime / the simulator scored by loops."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.cli import main
from n2d2c.errors import InputError
from n2d2c.runtime import losses as L

from .test_targets import _macro_pixels_by_loop

INI = """
[sp]
SizeX=8
SizeY=8
NbChannels=1

[fc]
Input=sp
Type=Fc
NbOutputs=3
ActivationFunction=Linear

[soft]
Input=fc
Type=Softmax
NbOutputs=3

[soft.Target]
LabelsMapping=map.dat
TopN=2
"""


def test_ini_target_section(tmp_path, capsys):
    from n2d2c.api import load, run
    (tmp_path / "net.ini").write_text(INI)
    (tmp_path / "map.dat").write_text("cat 0\ndog 1\nbird* 2   # birds share output 2\n")
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, size=(40, 1, 8, 8)).astype(np.float32)
    graph = load(str(tmp_path / "net.ini"))
    scores = np.concatenate([run(graph, x[i:i + 1])["soft"] for i in range(40)])
    names = np.array(["cat", "dog", "birdA", "birdB"])
    # labels that agree with the network three times out of four
    best = scores.argmax(axis=1)
    label = np.where(best == 2, rng.integers(2, 4, size=40), best)
    label[::4] = (label[::4] + 1) % 4
    np.savez(tmp_path / "data.npz", x=x, y=names[label])
    out = tmp_path / "o"
    assert main(["eval", str(tmp_path / "net.ini"), "--data", str(tmp_path / "data.npz"),
                 "-o", str(out)]) == 0
    capsys.readouterr()
    targets = np.array([0, 1, 2, 2])[label]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["target"] == "soft.Target"
    assert metrics["success_rate"] == pytest.approx(np.mean(best == targets))
    top2 = np.argsort(-scores, axis=1)[:, :2]
    assert metrics["top_n"] == 2
    assert metrics["top_n_rate"] == pytest.approx(np.mean((top2 == targets[:, None]).any(1)))
    assert [t["name"] for t in metrics["per_target"]] == ["cat", "dog", "birdA|birdB"]
    log = (out / "soft.Target" / "labels_mapping.log.dat").read_text()
    assert "birdB 2\n" in log
    assert "birdB bird*" in (out / "soft.Target" / "labels_mapping_rules.log.dat").read_text()
    # a label the mapping does not cover, and no 'default': a clear error
    np.savez(tmp_path / "fish.npz", x=x[:2], y=np.array(["cat", "fish"]))
    assert main(["eval", str(tmp_path / "net.ini"), "--data", str(tmp_path / "fish.npz")]) == \
        InputError.exit_code
    assert "label 'fish' is not in the labels mapping" in capsys.readouterr().err


def _segmentation_model(path):
    """[1, 3, 8, 8] -> 2x2 stride-2 conv to 4 classes -> softmax over the classes."""
    rng = np.random.default_rng(11)
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 2, 2)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["logits"], kernel_shape=[2, 2],
                              strides=[2, 2]),
             helper.make_node("Softmax", ["logits"], ["p"], axis=1)]
    graph = helper.make_graph(nodes, "seg", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 3, 8, 8])], [helper.make_tensor_value_info(
            "p", TensorProto.FLOAT, [1, 4, 4, 4])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def test_segmentation_macro_pixels(tmp_path, capsys):
    model = _segmentation_model(tmp_path / "seg.onnx")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3, 8, 8)).astype(np.float32)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    p = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(6)])
    # per-pixel labels: the network's estimate upsampled, with noise and ignored pixels
    labels = np.repeat(np.repeat(p.argmax(axis=1), 2, axis=1), 2, axis=2)
    noise = rng.uniform(size=labels.shape)
    labels = np.where(noise < 0.2, rng.integers(0, 4, size=labels.shape), labels)
    labels = np.where(noise > 0.85, -1, labels)
    np.savez(tmp_path / "seg.npz", x=x, y=labels)
    out = tmp_path / "o"
    assert main(["eval", str(model), "--data", str(tmp_path / "seg.npz"), "--weak-target", "-1",
                 "--loss", "dice", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    targets = _macro_pixels_by_loop(labels, 4, 4, -1)
    estimated = p.argmax(axis=1)
    keep = targets != -1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["segmentation"] is True
    assert metrics["count"] == int(keep.sum()) and metrics["ignored"] == int((~keep).sum())
    assert metrics["success_rate"] == pytest.approx(np.mean(estimated[keep] == targets[keep]))
    for row in metrics["per_target"]:
        c = row["index"]
        tp = np.sum((estimated == c) & (targets == c) & keep)
        union = np.sum(((estimated == c) | (targets == c)) & keep)
        assert row["iou"] == pytest.approx(tp / union)
    expected_loss = L.dice(p, targets, scores="probabilities", ignore_index=-1)
    assert metrics["loss"]["value"] == pytest.approx(expected_loss, rel=1e-5)
    assert "mean IoU:" in text
    import matplotlib.image
    maps = matplotlib.image.imread(out / "labels_000.png")
    assert maps.ndim == 3 and maps[..., :3].std() > 0.05
    assert sorted(f.name for f in out.glob("labels_*.png")) == \
        [f"labels_{i:03d}.png" for i in range(4)]


MASKED_INI = """
[sp]
SizeX=4
SizeY=4
NbChannels=1

[cls]
Input=sp
Type=Fc
NbOutputs=3
ActivationFunction=Linear

[gate]
Input=sp
Type=Fc
NbOutputs=2
ActivationFunction=Linear

[cls.Target]
MaskLabelTarget=gate.Target
MaskedLabel=1

[gate.Target]
"""


def test_masked_label_target(tmp_path, capsys):
    """Only the samples where the gate target estimates label 1 are scored."""
    from n2d2c.api import load, run
    (tmp_path / "net.ini").write_text(MASKED_INI)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(60, 1, 4, 4)).astype(np.float32)
    graph = load(str(tmp_path / "net.ini"))
    outs = [run(graph, x[i:i + 1]) for i in range(60)]
    cls = np.concatenate([o["cls"] for o in outs]).reshape(60, 3)
    gate = np.concatenate([o["gate"] for o in outs]).reshape(60, 2)
    y = rng.integers(0, 3, size=60)
    y[:30] = cls[:30].argmax(axis=1)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    assert main(["eval", str(tmp_path / "net.ini"), "--data", str(tmp_path / "data.npz"),
                 "--target", "cls.Target", "-o", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    considered = gate.argmax(axis=1) == 1
    assert 5 < considered.sum() < 55
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["count"] == int(considered.sum())
    assert metrics["success_rate"] == pytest.approx(
        np.mean(cls[considered].argmax(axis=1) == y[considered]))


def test_logistic_output_binary_threshold():
    """One sigmoid output: target 1 above BinaryThreshold; BCE reads probabilities."""
    from n2d2c.quantization.evaluation import Evaluator
    from n2d2c.runtime.losses import get_loss
    from n2d2c.runtime.targets import Target
    rng = np.random.default_rng(4)
    p = rng.uniform(size=(50, 1))
    y = (rng.uniform(size=50) < p[:, 0]).astype(np.int64)
    evaluator = Evaluator(Target(binary_threshold=0.3), outputs=1, activation="sigmoid",
                          loss=get_loss("bce"))
    result = evaluator.evaluate(p, y)
    predicted = (p[:, 0] > 0.3).astype(int)
    assert result.scores.success_rate == pytest.approx(np.mean(predicted == y))
    assert result.scores.confusion[1, 1] == np.sum((predicted == 1) & (y == 1))
    bce = -np.mean(y * np.log(p[:, 0]) + (1 - y) * np.log(1 - p[:, 0]))
    assert result.loss == pytest.approx(bce, rel=1e-9)
    assert "Sigmoid" in result.loss_scores
    # a multiclass loss on the one output sees the two classes (1 - p, p)
    evaluator.loss = get_loss("cross-entropy")
    assert evaluator.evaluate(p, y).loss == pytest.approx(bce, rel=1e-9)


def test_label_map_colours_follow_n2d2():
    """hue = (180 t / targets + LabelsHueOffset) mod 180 on OpenCV's scale (degrees / 2),
    brightness = the estimated value, NoDisplayLabel nearly grey, ignore grey."""
    from n2d2c.quantization.eval_report import label_colours
    from n2d2c.runtime.targets import Target
    labels = np.array([[0, 1, 2, -1]])
    values = np.array([[1.0, 0.5, 1.0, 1.0]])
    rgb = label_colours(labels, 4, Target(no_display_label=2), values)
    np.testing.assert_allclose(rgb[0, 0], [1.0, 0.0, 0.0])            # hue 0: red
    np.testing.assert_allclose(rgb[0, 1], [0.25, 0.5, 0.0])           # hue 90 deg at 50%
    grey = 127 / 255
    np.testing.assert_allclose(rgb[0, 3], [grey, grey, grey])
    assert np.ptp(rgb[0, 2]) == pytest.approx(grey * 10 / 255)        # almost no colour
    shifted = label_colours(np.array([[0]]), 4, Target(labels_hue_offset=120))
    np.testing.assert_allclose(shifted[0, 0], [0.0, 0.0, 1.0], atol=1e-12)  # 120 x 2 deg: blue
