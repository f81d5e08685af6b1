"""The generated project as a whole: determinism, atomic writes, testbench, arena, C target."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from n2d2c.backends.c.buffers import (ArenaPlacement, BufferRequest, Region, ReuseBuffers,
                                      SeparateBuffers)
from n2d2c.backends.c.program import lower_graph
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.cpp import emitter as cpp_emitter
from n2d2c.backends.c.testing import build, run, run_inputs
from n2d2c.backends.registry import get_backend
from n2d2c.errors import InternalError, UnsupportedError, UsageError
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.ir.types import DType

from .harness import require_compiler, run_ort


def _lenet():
    model = zoo.lenet(seed=7)
    return model, load_onnx(model)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_compiling_twice_gives_identical_folders(tmp_path):
    model = zoo.mobilenet_v2(size=32, width=0.35, classes=10, seed=1, batchnorm=True)
    compile_to_dir(load_onnx(model), tmp_path / "a")
    compile_to_dir(load_onnx(model), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(a) == sorted(b)
    assert "stimuli/sample_000.npy" in a and "expected/sample_000.npy" in a
    different = [name for name in a if a[name] != b[name]]
    assert not different, f"files differ between two compilations: {different}"


def test_failure_during_emission_leaves_no_folder(tmp_path, monkeypatch):
    _, graph = _lenet()
    calls = []

    def failing(self, layer, *args):
        calls.append(layer.name)
        if len(calls) == 3:
            raise RuntimeError("injected failure")
        return original(self, layer, *args)

    original = cpp_emitter.CppEmitter.render_call
    monkeypatch.setattr(cpp_emitter.CppEmitter, "render_call", failing)
    with pytest.raises(RuntimeError, match="injected"):
        compile_to_dir(graph, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []

    # An existing folder survives a failed compilation untouched.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("old")
    calls.clear()
    with pytest.raises(RuntimeError):
        compile_to_dir(graph, tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_backend_is_registered_and_checks_options(tmp_path):
    backend = get_backend("cpp")
    assert backend.name == "cpp"
    from n2d2c.passes import Pipeline
    assert "fuse-bn" in str(Pipeline.parse(backend.default_pipeline))  # a valid pipeline
    _, graph = _lenet()
    with pytest.raises(UsageError, match="unknown option"):
        compile_to_dir(graph, tmp_path / "x", no_such_option=1)
    assert not (tmp_path / "x").exists()


def test_integer_op_outside_the_quantized_ir_is_rejected_with_the_op_named():
    # Integer graph inputs are part of the API (backends/c/io_types.py); a float function
    # on them is not part of the quantized IR.
    g = Graph("ints")
    x = g.add_input("x", TensorType((2, 2), DType.I32))
    g.outputs = [g.add(ops.Sigmoid(name="s"), [x]).output]
    with pytest.raises(UnsupportedError, match="'s' \\(sigmoid\\).*integer tensors"):
        lower_graph(g)


def test_make_and_testbench(tmp_path):
    """The user's path: make && ./bin/run_test, with expected outputs, labels and -prof."""
    require_compiler()
    model, graph = _lenet()
    out = compile_to_dir(graph, tmp_path / "lenet", stimuli=4)
    proc = subprocess.run(["make", "-C", str(out), "EXTRA=-Werror"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr

    result = run(out, ["-prof"])
    assert "PASS" in result.stdout and "FAIL" not in result.stdout
    assert "conv1" in result.stdout and "Per-layer time" in result.stdout
    produced = np.load(out / "outputs" / "sample_000.npy", allow_pickle=False)
    reference = run_ort(model, {"input": np.load(out / "stimuli" / "sample_000.npy", allow_pickle=False)})[0]
    np.testing.assert_allclose(produced, reference, rtol=1e-4, atol=1e-5)

    # Labels: one per stimulus; the first two right, the others wrong.
    predicted = [int(np.argmax(np.load(out / "outputs" / f"sample_{s:03d}.npy", allow_pickle=False))) for s in range(4)]
    labels = predicted[:2] + [(p + 1) % 10 for p in predicted[2:]]
    (tmp_path / "labels.txt").write_text("\n".join(map(str, labels)) + "\n")
    result = run(out, ["-labels", str(tmp_path / "labels.txt"), "-no-outputs"])
    assert "Success rate: 50.00% (2/4)" in result.stdout
    assert "Confusion matrix" in result.stdout
    # Per-stimulus .label files work too.
    for s, label in enumerate(labels):
        (out / "stimuli" / f"sample_{s:03d}.label").write_text(f"{label}\n")
    assert "Success rate: 50.00% (2/4)" in run(out, ["-no-outputs"]).stdout

    # A wrong expected output fails with a non-zero exit code.
    wrong = np.load(out / "expected" / "sample_001.npy", allow_pickle=False) + 0.1
    np.save(out / "expected" / "sample_001.npy", wrong.astype(np.float32))
    result = run(out, ["-no-outputs"], check=False)
    assert result.returncode == 1 and "FAIL" in result.stdout

    # Raw .bin stimuli are read too; a wrong size is an error, not a crash.
    raw = tmp_path / "raw"
    raw.mkdir()
    np.load(out / "stimuli" / "sample_000.npy", allow_pickle=False).tofile(raw / "a.bin")
    np.zeros(3, np.float32).tofile(raw / "b.bin")
    result = run(out, ["-stimuli", str(raw), "-expected", "none", "-outputs", str(tmp_path / "o")],
                 check=False)
    assert result.returncode == 2 and "b.bin" in result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "o" / "a.npy", allow_pickle=False), produced, rtol=0, atol=0)

    # The single-input run() overload links against the generated objects.
    (tmp_path / "user.cpp").write_text(
        '#include "network.hpp"\nint main() { static float in[784], out[10];\n'
        '  network::run(in, out); return out[0] >= 0.0f ? 0 : 1; }\n')
    proc = subprocess.run(["g++", "-std=c++14", "-fopenmp", "-Wall", "-Wextra", "-Werror",
                           f"-I{out}", str(tmp_path / "user.cpp"), str(out / "build" / "network.o"),
                           str(out / "build" / "weights.o"), "-o", str(tmp_path / "user")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert subprocess.run([str(tmp_path / "user")]).returncode == 0


def test_buffer_plans_agree(tmp_path):
    require_compiler()
    model = zoo.inception_like(size=16, classes=10, seed=3)
    graph = load_onnx(model)
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    sizes = {}
    for plan in ("separate", "reuse"):
        out = compile_to_dir(graph, tmp_path / plan, stimuli=0, buffer_plan=plan)
        build(out, opt="-O1")
        got = run_inputs(out, {"input": x}, threads=2)["output"]
        np.testing.assert_allclose(got, run_ort(model, {"input": x})[0], rtol=1e-4, atol=1e-5)
        sizes[plan] = (out / "network.json").read_text()
    separate = int(sizes["separate"].split('"arena_bytes": ')[1].split(",")[0])
    reuse = int(sizes["reuse"].split('"arena_bytes": ')[1].split(",")[0])
    assert reuse < separate


def test_generated_code_uses_only_the_arena(tmp_path):
    _, graph = _lenet()
    out = compile_to_dir(graph, tmp_path / "p", stimuli=0)
    code = (out / "network.cpp").read_text()
    assert code.count("static float arena[") == 1
    for banned in ("malloc", "new ", "std::vector", "alloca"):
        assert banned not in code


def test_reuse_plan_never_overlaps_live_buffers():
    rng = np.random.default_rng(0)
    for _ in range(50):
        requests = []
        for i in range(20):
            first = int(rng.integers(0, 15))
            requests.append(BufferRequest(f"b{i}", int(rng.integers(1, 5000)), first,
                                          first + int(rng.integers(0, 5))))
        for plan in (ReuseBuffers(64), SeparateBuffers(64)):
            plan.place(requests).check(requests)  # raises on overlap


def test_placement_check_catches_overlaps():
    requests = [BufferRequest("a", 100, 0, 2), BufferRequest("b", 100, 1, 3)]
    bad = ArenaPlacement({"a": Region(0, 100), "b": Region(64, 100)}, 256, 64)
    with pytest.raises(InternalError, match="overlaps"):
        bad.check(requests)
