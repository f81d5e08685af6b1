"""`n2d2c eval` on the trained digits CNN: the reported numbers equal an independent
computation (onnxruntime's outputs scored with numpy), the files it writes are complete
and deterministic, and the labels options and data layouts work."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from n2d2c.cli import main
from n2d2c.errors import ShapeError, UsageError
from support import REPO

FIXTURES = REPO / "tests" / "fixtures"
MODEL = FIXTURES / "digits_cnn.onnx"
TEST = FIXTURES / "digits_test.npz"
CALIB = FIXTURES / "digits_calib.npz"
COUNT = 120          # samples used (keeps the tests quick)


@pytest.fixture(scope="module")
def digits():
    data = np.load(TEST)
    x, y = data["x"][:COUNT], data["y"][:COUNT]
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    probabilities = np.concatenate([session.run(None, {name: x[i:i + 1]})[0]
                                    for i in range(len(x))])
    return x, y, probabilities


def _numpy_scores(predicted, y, classes=10):
    confusion = np.zeros((classes, classes), np.int64)
    for t, p in zip(y, predicted):
        confusion[t, p] += 1
    tp = np.diag(confusion)
    return confusion, tp / confusion.sum(axis=0), tp / confusion.sum(axis=1)


def test_eval_digits_matches_numpy(tmp_path, digits, capsys):
    x, y, probabilities = digits
    np.savez(tmp_path / "data.npz", x=x, y=y)
    out = tmp_path / "report"
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--loss",
                 "cross-entropy", "--top-n", "3", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    predicted = probabilities.argmax(axis=1)
    accuracy = float(np.mean(predicted == y))
    top3 = float(np.mean([y[i] in np.argsort(-probabilities[i])[:3] for i in range(len(y))]))
    loss = float(np.mean(-np.log(probabilities[np.arange(len(y)), y])))
    confusion, precision, recall = _numpy_scores(predicted, y)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["success_rate"] == pytest.approx(accuracy, abs=1e-12)
    assert metrics["top_n"] == 3 and metrics["top_n_rate"] == pytest.approx(top3, abs=1e-12)
    assert metrics["loss"]["value"] == pytest.approx(loss, rel=1e-4)
    assert "probabilities" in metrics["loss"]["scores"]
    assert metrics["confusion"] == confusion.tolist()
    for row in metrics["per_target"]:
        c = row["index"]
        assert row["precision"] == pytest.approx(precision[c])
        assert row["recall"] == pytest.approx(recall[c])
        negatives = y != c
        specificity = np.sum(negatives & (predicted != c)) / np.sum(negatives)
        assert row["specificity"] == pytest.approx(specificity)
        assert row["informedness"] == pytest.approx(recall[c] + specificity - 1)
    assert f"accuracy: {accuracy * 100:.2f}% ({int(np.sum(predicted == y))}/{COUNT}" in text
    assert f"loss cross-entropy: {loss:.4g}"[:20] in text
    rows = (out / "confusion.csv").read_text().splitlines()
    assert rows[0].split(",")[1:] == [str(i) for i in range(10)]
    assert [int(v) for v in rows[4].split(",")[1:]] == confusion[3].tolist()
    # the heat-map: a real PNG whose darkest cells are on the diagonal of a good classifier
    import matplotlib.image
    image = matplotlib.image.imread(out / "confusion.png")
    assert image.ndim == 3 and image.shape[0] > 300 and image[..., :3].std() > 0.05
    first = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--loss",
                 "cross-entropy", "--top-n", "3", "-o", str(out)]) == 0
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first


def test_compare_float_and_quantized(tmp_path, digits, capsys):
    from n2d2c.api import load
    from n2d2c.quantization import quantize_graph
    from n2d2c.quantization.evaluate import predict
    x, y, probabilities = digits
    np.savez(tmp_path / "data.npz", x=x, y=y)
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--calib-data",
                 str(CALIB), "--calib", "64", "--compare", "-o", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    graph = load(str(MODEL))
    qgraph, _ = quantize_graph(graph, np.load(CALIB)["x"][:64], {"nbbits": 8})
    q_predicted = predict(qgraph, x)
    f_predicted = probabilities.argmax(axis=1)
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["success_rate"] == pytest.approx(np.mean(q_predicted == y))
    assert metrics["float"]["success_rate"] == pytest.approx(np.mean(f_predicted == y))
    assert metrics["disagreement_rate"] == pytest.approx(np.mean(q_predicted != f_predicted))
    assert "float accuracy:" in text and "quantized accuracy:" in text
    assert "disagreement:" in text


def test_dir_database_and_labels_mapping(tmp_path, digits, capsys):
    """Label folders named after the digits; a mapping sends 'd0'..'d4' and 'd9' to their
    outputs and every other digit, by 'default', to output 5."""
    x, y, probabilities = digits
    database = tmp_path / "db"
    for i, (sample, label) in enumerate(zip(x[:60], y[:60])):
        folder = database / f"d{label}"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{i:03d}.npy", sample)
    mapping = tmp_path / "map.dat"
    mapping.write_text("d0 0\nd1 1\nd2 2\nd3 3\nd4 4\nd9 9\ndefault 5\n")
    out = tmp_path / "o"
    assert main(["eval", str(MODEL), "--data", str(database), "--labels-mapping", str(mapping),
                 "-o", str(out)]) == 0
    # the samples in folder order (sorted label names, then files), their mapped targets
    order = sorted(range(60), key=lambda i: (f"d{y[i]}", i))
    targets = np.array([y[i] if y[i] in (0, 1, 2, 3, 4, 9) else 5 for i in order])
    predicted = probabilities[order].argmax(axis=1)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["success_rate"] == pytest.approx(np.mean(predicted == targets))
    log = (out / "output.Target" / "labels_mapping.log.dat").read_text()
    assert "7 d7 5\n" in log and "9 d9 9\n" in log
    rules = (out / "output.Target" / "labels_mapping_rules.log.dat").read_text()
    assert "7 d7 default" in rules
    capsys.readouterr()


def test_label_names_and_wildcards(tmp_path, digits, capsys):
    x, y, probabilities = digits
    names = np.array([f"digit_{v}" if v != 9 else "nine" for v in y])
    np.savez(tmp_path / "named.npz", x=x, y=names)
    (tmp_path / "labels.txt").write_text("\n".join(f"digit_{i}" for i in range(9)) + "\nnine\n")
    (tmp_path / "map.dat").write_text("digit_+ 0\nnine 9\n")   # '+': one character
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "named.npz"), "--labels",
                 str(tmp_path / "labels.txt"), "--labels-mapping", str(tmp_path / "map.dat"),
                 "-o", str(tmp_path / "o")]) == 0
    targets = np.where(y == 9, 9, 0)
    predicted = probabilities.argmax(axis=1)
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["success_rate"] == pytest.approx(np.mean(predicted == targets))
    assert metrics["per_target"][0]["support"] == int(np.sum(y != 9))
    capsys.readouterr()


def test_symbolic_batch(tmp_path, digits, capsys):
    x, y, probabilities = digits
    model = onnx.load(MODEL)
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.save(model, tmp_path / "batched.onnx")
    np.savez(tmp_path / "data.npz", x=x[:50], y=y[:50])
    assert main(["eval", str(tmp_path / "batched.onnx"), "--data", str(tmp_path / "data.npz"),
                 "--batch", "16", "-o", str(tmp_path / "o")]) == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["count"] == 50      # 3 full batches and a padded one
    assert metrics["success_rate"] == pytest.approx(np.mean(probabilities[:50].argmax(1) == y[:50]))
    # a one-sample model is batched by the set-batch pass: the same numbers
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--batch", "8",
                 "--calib-data", str(CALIB), "--calib", "32", "--compare",
                 "-o", str(tmp_path / "b8")]) == 0
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"),
                 "--calib-data", str(CALIB), "--calib", "32", "--compare",
                 "-o", str(tmp_path / "b1")]) == 0
    b8, b1 = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("b8", "b1"))
    assert b8["count"] == 50 and b8["confusion"] == b1["confusion"]
    assert b8["float"]["confusion"] == b1["float"]["confusion"]
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--batch", "0"]) == \
        UsageError.exit_code
    assert "must be at least 1" in capsys.readouterr().err


def test_errors(tmp_path, digits, capsys):
    x, y, _ = digits
    np.savez(tmp_path / "wide.npz", x=x[:5], y=np.array([0, 1, 12, 3, 4]))
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "wide.npz")]) == \
        ShapeError.exit_code
    assert "label '12' (label ID 12) exceeds the 10 output(s)" in capsys.readouterr().err
    np.savez(tmp_path / "ok.npz", x=x[:5], y=y[:5])
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "ok.npz"), "--compare"]) == \
        UsageError.exit_code
    assert "--calib-data" in capsys.readouterr().err
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "ok.npz"), "--loss",
                 "focal{gama=2}"]) == UsageError.exit_code
    err = capsys.readouterr().err
    assert "no option 'gama'" in err and "Traceback" not in err
    for flags, message in ((["--top-n", "20"], "TopN=20 exceeds the 10 outputs"),
                           (["--loss", "gaussian-kl"], "compares two distributions"),
                           (["--target", "nope"], "no such output or target")):
        assert main(["eval", str(MODEL), "--data", str(tmp_path / "ok.npz")] + flags) == \
            UsageError.exit_code
        assert message in capsys.readouterr().err
    np.savez(tmp_path / "maps.npz", x=x[:4], y=np.zeros((4, 8, 8), np.int64))
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "maps.npz")]) == \
        ShapeError.exit_code
    assert "expected [N, H, W] labels and [N, C, H, W] outputs" in capsys.readouterr().err
    assert main(["evaluate", str(MODEL), "--data", str(tmp_path / "ok.npz")]) == 0  # the alias


def test_optional_dependencies(tmp_path, digits, capsys, monkeypatch):
    """No tqdm: no progress bar, same result; no matplotlib: -o is a clean error and
    leaves no folder."""
    from n2d2c.errors import UnsupportedError
    x, y, _ = digits
    np.savez(tmp_path / "ok.npz", x=x[:8], y=y[:8])
    monkeypatch.setitem(sys.modules, "tqdm", None)
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "ok.npz")]) == 0
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "ok.npz"), "-o",
                 str(tmp_path / "o")]) == UnsupportedError.exit_code
    assert "needs matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_dir_database_of_images(tmp_path, capsys):
    """PGM images in label folders: the samples are the bytes / 255; label IDs follow the
    sorted folder names (N2D2's order of appearance), so every digit has a folder here."""
    data = np.load(TEST)
    pick = np.concatenate([np.flatnonzero(data["y"] == d)[:3] for d in range(8)])
    levels = np.round(data["x"][pick, 0] * 255).astype(np.uint8)      # [24, 8, 8]
    labels = data["y"][pick]
    for i, (image, label) in enumerate(zip(levels, labels)):
        folder = tmp_path / "db" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:02d}.pgm").write_bytes(b"P5\n8 8\n255\n" + image.tobytes())
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "db"), "-o",
                 str(tmp_path / "o")]) == 0
    capsys.readouterr()
    order = sorted(range(24), key=lambda i: (str(labels[i]), i))
    x = (levels[order].astype(np.float32) / 255)[:, None]
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    predicted = np.array([session.run(None, {"input": x[i:i + 1]})[0].argmax()
                          for i in range(24)])
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["count"] == 24
    assert metrics["success_rate"] == pytest.approx(np.mean(predicted == labels[order]))
    assert [t["name"] for t in metrics["per_target"]][:8] == [str(d) for d in range(8)]
    # without folders 0..7 for outputs 0..7 the IDs shift, as in N2D2: folder '1' alone is
    # label ID 0, hence output 0
    for folder in (tmp_path / "db").iterdir():
        if folder.name != "1":
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "db"), "-o",
                 str(tmp_path / "o")]) == 0
    capsys.readouterr()
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["per_target"][0]["name"] == "1" and metrics["per_target"][0]["support"] == 3


def test_python_api_matches_the_cli(tmp_path, digits, capsys):
    import n2d2c
    x, y, probabilities = digits
    result = n2d2c.evaluate(str(MODEL), x, y, loss="focal{gamma=2}", top_n=2)
    p_true = probabilities[np.arange(len(y)), y].astype(np.float64)
    focal = float(np.mean(-(1 - p_true) ** 2 * np.log(p_true)))
    assert result["success_rate"] == pytest.approx(np.mean(probabilities.argmax(1) == y))
    assert result["loss"]["value"] == pytest.approx(focal, rel=1e-4)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "d.npz"), "--loss",
                 "focal{gamma=2}", "--top-n", "2", "-o", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    cli = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert {k: cli[k] for k in result} == json.loads(json.dumps(result))


def test_reference_precision(tmp_path, digits, capsys, monkeypatch):
    """--reference-precision reaches the simulator (both precisions score the same
    digits as onnxruntime); it is refused where generated code runs instead."""
    import n2d2c.runtime
    x, y, probabilities = digits
    np.savez(tmp_path / "data.npz", x=x[:40], y=y[:40])
    seen = []
    real = n2d2c.runtime.Simulator

    def spy(graph, **kwargs):
        seen.append(kwargs.get("precision", "fast"))
        return real(graph, **kwargs)

    monkeypatch.setattr(n2d2c.runtime, "Simulator", spy)
    loss = float(np.mean(-np.log(probabilities[np.arange(40), y[:40]])))
    for flags, precision in (([], "fast"), (["--reference-precision"], "reference")):
        seen.clear()
        out = tmp_path / precision
        assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--loss",
                     "cross-entropy", "-o", str(out)] + flags) == 0
        assert seen == [precision]
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["loss"]["value"] == pytest.approx(loss, rel=1e-4)
        assert metrics["success_rate"] == float(np.mean(probabilities[:40].argmax(1) == y[:40]))
    capsys.readouterr()
    assert main(["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--backend", "cpp",
                 "--reference-precision"]) == UsageError.exit_code
    assert "--reference-precision chooses the simulator's kernels" in capsys.readouterr().err
