"""The Python API compiles without the CLI; its result describes the project."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import n2d2c
from n2d2c.cli import main
from n2d2c.errors import UsageError
from support import REPO, require_tool

DIGITS = REPO / "tests" / "fixtures" / "digits_cnn.onnx"
DIGITS_CALIB = REPO / "tests" / "fixtures" / "digits_calib.npz"


def test_compile_result_lists_arena_and_files(lenet_path, tmp_path):
    require_tool("make", "g++")
    result = n2d2c.compile(lenet_path, output_dir=tmp_path / "out", backend="cpp",
                           options={"stimuli": 1})
    assert isinstance(result, n2d2c.CompileResult) and Path(result) == tmp_path / "out"
    on_disk = sorted(p.relative_to(result.output_dir).as_posix()
                     for p in result.output_dir.rglob("*") if p.is_file())
    assert [f.path for f in result.files] == on_disk
    for f in result.files:
        data = (result.output_dir / f.path).read_bytes()
        assert (f.bytes, f.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert result.written == tuple(on_disk) and not result.kept and not result.removed
    assert result.inputs == (lenet_path,)
    # The arena the result reports is the one the generated code declares and uses.
    header = (result.output_dir / "network.hpp").read_text()
    assert f"constexpr long ARENA_BYTES = {result.arena_bytes};" in header
    assert result.sizes["arena"] == result.arena_bytes > 0
    assert result.memory["lower_bound"] <= result.arena_bytes
    proc = subprocess.run(["make", "-s", "-C", str(result.output_dir), "OPT=-O0"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = subprocess.run([str(result.output_dir / "bin" / "run_test")], capture_output=True,
                         text=True, timeout=120, cwd=result.output_dir)
    assert run.returncode == 0, run.stdout[-3000:]


def test_quantized_compile_equals_the_cli(tmp_path):
    """Quantization options from Python give the very project the CLI flags give."""
    options = {"nbbits": 8, "act_rescaling_mode": "Single-shift", "calib": 16}
    result = n2d2c.compile(DIGITS, output_dir=tmp_path / "api", backend="c",
                           calibration=DIGITS_CALIB, quantization=options, stimuli=1)
    assert result.quantization is not None and result.quantization.options.nbbits == 8
    assert set(result.inputs) == {DIGITS, DIGITS_CALIB}
    assert main(["compile", str(DIGITS), "--backend", "c", "-o", str(tmp_path / "cli"),
                 "--calib-data", str(DIGITS_CALIB), "--nbbits", "8", "--calib", "16",
                 "--act-rescaling-mode", "Single-shift", "-X", "stimuli=1"]) == 0
    for f in result.files:
        assert (tmp_path / "cli" / f.path).read_bytes() == \
            (result.output_dir / f.path).read_bytes(), f.path
    assert "int8_t" in (result.output_dir / "network.c").read_text()


def test_stm32_result_reports_flash_and_ram(lenet_path, tmp_path):
    result = n2d2c.compile(lenet_path, output_dir=tmp_path / "fw", backend="stm32",
                           options={"mcu": "cortex-m4", "stimuli": 0})
    report = (result.output_dir / "size_report.txt").read_text()
    flash = re.search(r"flash: (\d+) of (\d+) bytes", report)
    ram = re.search(r"RAM: (\d+) of (\d+) bytes", report)
    assert (result.sizes["flash"], result.sizes["flash_limit"]) == tuple(map(int, flash.groups()))
    assert (result.sizes["ram"], result.sizes["ram_limit"]) == tuple(map(int, ram.groups()))
    assert result.sizes["ram.arena"] == result.arena_bytes == \
        json.loads((result.output_dir / "network.json").read_text())["arena_bytes"]


def test_pipeline_and_load_are_exported(lenet_path):
    graph = n2d2c.load(lenet_path)
    n2d2c.Pipeline.parse("fuse-activation").run(graph)
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    fused = n2d2c.run(graph, {"input": x})["output"]
    np.testing.assert_allclose(fused, n2d2c.run(lenet_path, x)["output"], rtol=1e-5, atol=1e-6)
    assert n2d2c.QuantizationOptions().nbbits == 8


@pytest.mark.parametrize("kwargs,message", [
    ({}, "output folder"),
    ({"output_dir": "x", "quantization": {"nbbits": 8}}, "calibration data"),
    ({"output_dir": "x", "options": {"no_such_option": 1}}, "unknown option"),
])
def test_bad_calls_are_usage_errors(lenet_path, tmp_path, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=message):
        n2d2c.compile(lenet_path, **kwargs)
    assert not (tmp_path / "x").exists()
