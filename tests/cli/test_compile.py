"""`n2d2c compile` end to end: the backend's default pipeline, quantization flags,
INI input; each generated project is built and its testbench compares against the
simulator's expected outputs."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest

from n2d2c.cli import main
from n2d2c.examples import zoo

from support import CORPUS, require_corpus, require_tool


def build_and_check(out):
    subprocess.run(["make", "-s", "-C", str(out)], check=True, capture_output=True)
    run = subprocess.run([str(out / "bin" / "run_test")], cwd=out, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASS" in run.stdout


@pytest.fixture(scope="module")
def resnet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "resnet.onnx"
    onnx.save(zoo.resnet18(size=32, classes=10, width=8), path)
    return path


def test_compile_runs_the_default_pipeline(resnet_path, tmp_path, capsys):
    require_tool("g++", "make")
    out = tmp_path / "out"
    assert main(["compile", str(resnet_path), "-o", str(out), "--time-passes"]) == 0
    assert "fuse-bn" in capsys.readouterr().err  # the timing table names the passes run
    build_and_check(out)


def test_compile_passes_option_replaces_the_pipeline(resnet_path, tmp_path, capsys):
    require_tool("g++", "make")
    out = tmp_path / "out"
    assert main(["compile", str(resnet_path), "-o", str(out), "--passes", "dead-code",
                 "--time-passes"]) == 0
    err = capsys.readouterr().err
    assert "dead-code" in err and "fuse-bn" not in err
    build_and_check(out)


def test_compile_quantized_int8(resnet_path, tmp_path):
    require_tool("g++", "make")
    calib = tmp_path / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32))
    out = tmp_path / "out"
    assert main(["compile", str(resnet_path), "-o", str(out), "--nbbits", "8",
                 "--calib-data", str(calib)]) == 0
    assert "int8_t" in (out / "network.cpp").read_text()
    build_and_check(out)  # expected outputs come from the bit-exact integer simulator


def test_compile_ini_model(tmp_path):
    require_tool("g++", "make")
    require_corpus()
    out = tmp_path / "out"
    assert main(["compile", str(CORPUS / "models" / "LeNet.ini"), "-o", str(out)]) == 0
    build_and_check(out)


def test_bad_backend_option(resnet_path, tmp_path):
    assert main(["compile", str(resnet_path), "-o", str(tmp_path / "o"), "-X", "novalue"]) == 2
    assert not (tmp_path / "o").exists()
