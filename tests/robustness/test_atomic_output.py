"""Output folders are atomic: an exception, SIGTERM or Ctrl-C while a backend
writes leaves the previous folder or nothing, never a half-written one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import onnx
import pytest

from n2d2c.examples.lenet import lenet
from n2d2c.util.atomic import atomic_output_dir

SLOW_COMPILE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from n2d2c.backends.registry import Backend, register_backend
    from n2d2c.cli import main

    def emit(graph, scratch, options):
        (scratch / "half_written.cpp").write_text("// ...")
        print("WRITING", flush=True)
        time.sleep(60)

    register_backend(Backend("slow", "test backend that hangs mid-write", "", emit))
    sys.exit(main(["compile", sys.argv[1], "--backend", "slow", "-o", sys.argv[2]]))
""")


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "lenet.onnx"
    onnx.save(lenet(), path)
    return path


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("previous", [False, True])
def test_signal_mid_compile_leaves_previous_or_nothing(tmp_path, model_path, signum, code,
                                                       previous):
    out = tmp_path / "out"
    if previous:
        out.mkdir()
        (out / "old.txt").write_text("previous build")
    script = tmp_path / "slow_compile.py"
    script.write_text(SLOW_COMPILE)
    proc = subprocess.Popen([sys.executable, str(script), str(model_path), str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "WRITING"
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert "no partial output" in stderr and "Traceback" not in stderr
    if previous:
        assert sorted(os.listdir(out)) == ["old.txt"]
    else:
        assert not out.exists()
    assert leftovers(tmp_path, "out") == []


def test_exception_mid_write_keeps_previous(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous")
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as scratch:
            (scratch / "new.txt").write_text("new")
            raise RuntimeError("emitter failed")
    assert sorted(os.listdir(out)) == ["old.txt"]
    assert leftovers(tmp_path, "out") == []


def test_success_replaces_previous(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous")
    with atomic_output_dir(out) as scratch:
        (scratch / "new.txt").write_text("new")
    assert sorted(os.listdir(out)) == ["new.txt"]
    assert leftovers(tmp_path, "out") == []
