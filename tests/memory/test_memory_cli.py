"""`n2d2c compile --memory-report`, `n2d2c info --memory`, `--export-parameters`,
`--memory-strategy`, and `n2d2c ir --passes plan-memory`."""

from __future__ import annotations

import json
import re

import onnx
import pytest

from n2d2c.cli import main
from n2d2c.examples import zoo

SAVINGS = ("reuse of dead buffers", "OptimizeBufferMemory", "OptimizeNoBranchConcat",
           "IncludeInputInBuffer")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "incept.onnx"
    onnx.save(zoo.inception_like(size=16, classes=10, seed=3), path)
    return path


@pytest.fixture
def params(tmp_path):
    path = tmp_path / "params.ini"
    path.write_text("# N2D2 -export-parameters\nMemoryManagerStrategy=best\n"
                    "MemoryAlignment=16\nOptimizeBufferMemory=1\nNbBits=8\n")
    return path


def _report_numbers(text: str) -> tuple[int, int, float]:
    arena = int(re.search(r"arena: +([\d,]+) bytes", text).group(1).replace(",", ""))
    bound = int(re.search(r"lower bound: +([\d,]+) bytes", text).group(1).replace(",", ""))
    ratio = float(re.search(r"plan / bound: +([\d.]+)", text).group(1))
    return arena, bound, ratio


def test_compile_memory_report(model, params, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["compile", str(model), "-o", str(out), "--memory-report",
                 "--export-parameters", str(params), "--memory-strategy", "exact"]) == 0
    text = capsys.readouterr().out
    arena, bound, ratio = _report_numbers(text)
    assert ratio == pytest.approx(arena / bound, abs=1e-4) and arena >= bound
    assert "strategy exact" in text and "alignment 16" in text  # flag wins, file's alignment
    for label in SAVINGS:
        assert label in text
    # per-buffer lines: name, offset, size, end, lifetime
    assert re.search(r"^concat\d?\s+\d+\s+\d+\s+\d+\s+\[\d+, \d+\]", text, re.M)
    assert (out / "memory_mapping.log").read_text() in text
    assert (out / "memory_mapping.png").exists()
    manifest = json.loads((out / "network.json").read_text())
    assert manifest["arena_bytes"] == arena
    assert manifest["memory"]["options"]["MemoryAlignment"] == 16
    assert set(manifest["memory"]["saved_bytes"]) == {"reuse", "OptimizeBufferMemory",
                                                      "OptimizeNoBranchConcat",
                                                      "IncludeInputInBuffer"}
    assert f"ARENA_BYTES = {arena};" in (out / "network.hpp").read_text()


def test_info_memory(model, params, capsys):
    assert main(["info", str(model), "--memory", "--export-parameters", str(params)]) == 0
    text = capsys.readouterr().out
    assert "MACs" in text and "memory plan of graph @inception_like" in text
    arena, bound, _ = _report_numbers(text)
    assert arena >= bound > 0
    assert "strategy best" in text and "alignment 16" in text
    for label in SAVINGS:
        assert label in text


def test_memory_flags_errors(model, tmp_path, capsys):
    assert main(["info", str(model), "--memory-strategy", "exact"]) == 2
    assert "need --memory" in capsys.readouterr().err
    assert main(["compile", str(model), "-o", str(tmp_path / "x"),
                 "--memory-strategy", "fastest"]) == 2
    assert "unknown MemoryManagerStrategy 'fastest'" in capsys.readouterr().err
    assert main(["compile", str(model), "-o", str(tmp_path / "y"), "--backend", "onnx",
                 "--memory-report"]) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    bad = tmp_path / "bad.ini"
    bad.write_text("MemoryAlignment=zero\n")
    assert main(["info", str(model), "--memory", "--export-parameters", str(bad)]) != 0
    assert "MemoryAlignment expects a positive integer" in capsys.readouterr().err


def test_ir_shows_the_plan_the_backend_uses(model, tmp_path, capsys):
    ir = tmp_path / "m.ir"
    assert main(["ir", str(model), "--passes", "plan-memory{MemoryManagerStrategy=exact}",
                 "-o", str(ir)]) == 0
    text = ir.read_text()
    assert "memory {target = \"cpp\"" in text and "@arena(" in text
    out = tmp_path / "out"
    assert main(["compile", str(ir), "-o", str(out), "--memory-report"]) == 0
    printed = capsys.readouterr().out
    arena = int(re.search(r"arena_bytes = (\d+)", text).group(1))
    assert _report_numbers(printed)[0] == arena
    manifest = json.loads((out / "network.json").read_text())
    assert manifest["memory"]["ir_placements"] == "verified identical"
