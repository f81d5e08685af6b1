"""`n2d2c eval --backend cpp`: the generated C++ testbench scores the data set; its int8
network is bit-exact with the integer simulator, so every number matches `--backend sim`."""

from __future__ import annotations

import json

import numpy as np

from n2d2c.cli import main
from support import REPO, require_tool

FIXTURES = REPO / "tests" / "fixtures"
MODEL = FIXTURES / "digits_cnn.onnx"


def test_cpp_testbench_matches_the_simulator(tmp_path, capsys):
    require_tool("g++", "make")
    data = np.load(FIXTURES / "digits_test.npz")
    np.savez(tmp_path / "data.npz", x=data["x"][:60], y=data["y"][:60])
    common = ["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--calib-data",
              str(FIXTURES / "digits_calib.npz"), "--calib", "64", "--compare", "--loss",
              "nll{scores=probabilities}"]
    results = {}
    for backend in ("sim", "cpp"):
        assert main(common + ["--backend", backend, "-o", str(tmp_path / backend)]) == 0
        results[backend] = json.loads((tmp_path / backend / "metrics.json").read_text())
    capsys.readouterr()
    sim, cpp = results["sim"], results["cpp"]
    assert cpp["backend"] == "cpp" and sim["count"] == cpp["count"] == 60
    # quantized: bit-exact integer code, so the same estimates and the same loss
    assert cpp["confusion"] == sim["confusion"]
    assert cpp["loss"]["value"] == sim["loss"]["value"]
    assert cpp["disagreement_rate"] == sim["disagreement_rate"]
    # float: the C++ float kernels may round differently, not decide differently here
    assert cpp["float"]["confusion"] == sim["float"]["confusion"]
    assert abs(cpp["float"]["loss"]["value"] - sim["float"]["loss"]["value"]) < 1e-5


def test_stm32_firmware_under_qemu_matches_the_simulator(tmp_path, capsys):
    require_tool("arm-none-eabi-gcc", "qemu-system-arm", "make")
    data = np.load(FIXTURES / "digits_test.npz")
    np.savez(tmp_path / "data.npz", x=data["x"][:30], y=data["y"][:30])
    common = ["eval", str(MODEL), "--data", str(tmp_path / "data.npz"), "--calib-data",
              str(FIXTURES / "digits_calib.npz"), "--calib", "64", "--loss", "cross-entropy"]
    results = {}
    for backend in ("sim", "stm32-qemu"):
        assert main(common + ["--backend", backend, "-o", str(tmp_path / backend)]) == 0
        results[backend] = json.loads((tmp_path / backend / "metrics.json").read_text())
    capsys.readouterr()
    sim, board = results["sim"], results["stm32-qemu"]
    assert board["count"] == 30 and board["confusion"] == sim["confusion"]
    assert board["loss"]["value"] == sim["loss"]["value"]        # bit-exact int8
    assert board["float"]["confusion"] == sim["float"]["confusion"]
