"""`n2d2c run --inputs ... --batch N`: many samples N at a time give exactly the outputs
of one-by-one runs (the fast simulator forms each product per sample), and the
reference precision flag reaches the simulator."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from n2d2c.cli import main
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.passes import Pipeline
from n2d2c.runtime import Simulator


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory):
    """Depthwise, pointwise, strided convs, Clip and a Gemm head, small."""
    path = tmp_path_factory.mktemp("models") / "mbv2.onnx"
    onnx.save(zoo.mobilenet_v2(size=32, width=0.35, classes=10), path)
    return path


def _samples(count, shape, seed=0):
    return np.random.default_rng(seed).standard_normal((count, *shape)).astype(np.float32)


def _one_by_one(path, samples, tmp_path, *flags):
    outs = []
    for i, sample in enumerate(samples):
        np.save(tmp_path / f"one{i}.npy", sample[None])
        assert main(["run", str(path), "--input", str(tmp_path / f"one{i}.npy"),
                     "--output", str(tmp_path / f"one{i}_out.npy"), *flags]) == 0
        outs.append(np.load(tmp_path / f"one{i}_out.npy"))
    return np.concatenate(outs)


@pytest.mark.parametrize("batch", [1, 3])
def test_run_inputs_npz_in_batches_equals_one_by_one(mobilenet, tmp_path, batch, capsys):
    samples = _samples(5, (3, 32, 32))      # 5 = one full batch of 3 and a padded one
    np.savez(tmp_path / "many.npz", x=samples)
    assert main(["run", str(mobilenet), "--inputs", str(tmp_path / "many.npz"),
                 "--batch", str(batch), "--output", str(tmp_path / "out.npy")]) == 0
    got = np.load(tmp_path / "out.npy")
    want = _one_by_one(mobilenet, samples, tmp_path)
    assert got.shape == (5, 10)
    np.testing.assert_array_equal(got, want)


def test_run_inputs_folder_and_lenet(lenet_path, tmp_path, capsys):
    samples = _samples(4, (1, 28, 28), seed=1)
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, sample in enumerate(samples):
        np.save(folder / f"{i:03d}.npy", sample)
    assert main(["run", str(lenet_path), "--inputs", str(folder), "--batch", "4",
                 "--output", str(tmp_path / "out.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"),
                                  _one_by_one(lenet_path, samples, tmp_path))


def test_simulator_batch_equals_single_runs_at_both_precisions(mobilenet):
    samples = _samples(4, (3, 32, 32), seed=2)
    single = load_onnx(onnx.load(mobilenet))
    batched = load_onnx(onnx.load(mobilenet))
    Pipeline.parse("set-batch{size=4}").run(batched)
    name = single.inputs[0].name
    for precision in ("fast", "reference"):
        one = Simulator(single, precision=precision)
        want = np.concatenate([next(iter(one.run({name: s[None]}).values())) for s in samples])
        got = next(iter(Simulator(batched, precision=precision).run({name: samples}).values()))
        np.testing.assert_array_equal(got, want)


def test_reference_precision_flag(mobilenet, tmp_path, capsys):
    sample = _samples(1, (3, 32, 32), seed=3)
    np.save(tmp_path / "x.npy", sample)
    graph = load_onnx(onnx.load(mobilenet))
    want = next(iter(Simulator(graph, precision="reference").run(
        {graph.inputs[0].name: sample}).values()))
    assert main(["run", str(mobilenet), "--input", str(tmp_path / "x.npy"),
                 "--reference-precision", "--output", str(tmp_path / "ref.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "ref.npy"), want)


def test_run_inputs_errors(mobilenet, tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", x=_samples(2, (3, 16, 16)))
    assert main(["run", str(mobilenet), "--inputs", str(tmp_path / "bad.npz")]) != 0
    assert "per sample" in capsys.readouterr().err
    assert main(["run", str(mobilenet), "--inputs", str(tmp_path / "missing")]) != 0
    assert "do not exist" in capsys.readouterr().err
