"""`n2d2c run --device gpu` and `--batch N`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.cli import main
from n2d2c.runtime import Simulator
from n2d2c.runtime.simulator import _open_device
from n2d2c.errors import UnsupportedError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _has_gpu() -> bool:
    try:
        _open_device("gpu")
        return True
    except UnsupportedError:
        return False


def test_gpu_device_without_a_gpu_is_one_clear_error(capsys):
    if _has_gpu():
        pytest.skip("this machine has a GPU")
    code = main(["run", str(FIXTURES / "digits_cnn.onnx"), "--device", "gpu"])
    err = capsys.readouterr().err
    assert code == 4 and "GPU simulator" in err and "Traceback" not in err


def test_batch_runs_every_sample(tmp_path, capsys):
    x = np.load(FIXTURES / "digits_calib.npz")["x"][:6].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ["run", str(FIXTURES / "digits_cnn.onnx"), "--batch", "6", "--input",
            str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    assert main(args) == 0
    got = np.load(tmp_path / "y.npy")
    import n2d2c
    graph = n2d2c.load(FIXTURES / "digits_cnn.onnx")
    sim = Simulator(graph)
    want = np.concatenate([sim.run({"input": x[i:i + 1]})["output"] for i in range(6)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_bad_batch_is_a_usage_error(capsys):
    assert main(["run", str(FIXTURES / "digits_cnn.onnx"), "--batch", "0"]) == 2


def test_a_graph_that_mixes_samples_is_refused_by_set_batch():
    from n2d2c.ir import parse_graph
    from n2d2c.passes import Pipeline
    graph = parse_graph("""
graph @g(%x: tensor<1x3xf32>) {
  %s = softmax(%x) {axis = 0} : tensor<1x3xf32> loc("mix")
  return %s
}""")
    with pytest.raises(UnsupportedError, match=r"'mix' \(softmax\) works along axis 0"):
        Pipeline.parse("set-batch{size=2}").run(graph)
