"""A segmentation network exported by PyTorch (tests/fixtures/segmentation_net.onnx:
strided convs, ConvTranspose, bilinear Resize, Concat skip, a 1x1x256x256 sigmoid
map, symbolic batch/height/width) against onnxruntime: through ``n2d2c run`` with the
shape taken from the .npy, and through the compiled C++ testbench, whose memory must
stay bounded by the tensors even when labels are given for a map-shaped output."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import onnx
import pytest

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, run
from n2d2c.cli import main
from n2d2c.frontend.binding import DataShape
from n2d2c.frontend.onnx import load_onnx

from .harness import TEST_OPT, require_compiler, run_ort

MODEL = Path(__file__).parents[1] / "fixtures" / "segmentation_net.onnx"
RTOL, ATOL = 1e-4, 1e-5
# Far below the 34 GB that a 65536 x 65536 confusion matrix would take; the tensors
# themselves are a few MB.
TESTBENCH_MEMORY = 1 << 30


def _image(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_fixture_is_what_users_bring():
    model = onnx.load(MODEL)
    ops = {n.op_type for n in model.graph.node}
    assert {"ConvTranspose", "Resize", "Concat", "Sigmoid"} <= ops
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] == "batch" and isinstance(dims[2], str) and isinstance(dims[3], str)


@pytest.mark.parametrize("shape", [(1, 3, 256, 256), (1, 3, 64, 96)])
def test_run_takes_the_shape_from_the_npy(tmp_path, capsys, shape):
    x = _image(shape)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(MODEL), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "prob.npy")]) == 0
    capsys.readouterr()
    got = np.load(tmp_path / "prob.npy")
    ref = run_ort(onnx.load(MODEL), {"image": x})[0]
    assert got.shape == (1, 1) + shape[2:]
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (TESTBENCH_MEMORY, TESTBENCH_MEMORY))


def test_cpp_testbench_matches_onnxruntime_in_bounded_memory(tmp_path):
    require_compiler()
    x = _image((1, 3, 256, 256), seed=1)
    graph = load_onnx(MODEL, data_shapes={"": DataShape(x.shape, "the test image")})
    assert graph.outputs[0].shape == (1, 1, 256, 256)
    out = tmp_path / "seg"
    compile_to_dir(graph, out, stimuli=0)
    build(out, opt=TEST_OPT)
    (tmp_path / "stimuli").mkdir()
    np.save(tmp_path / "stimuli" / "img.npy", x)
    (tmp_path / "stimuli" / "img.label").write_text("1\n")  # a label, as for a classifier
    ref = run_ort(onnx.load(MODEL), {"image": x})[0]
    np.save(tmp_path / "expected.npy", ref)
    (tmp_path / "expected").mkdir()
    np.save(tmp_path / "expected" / "img.npy", ref)
    proc = run(out, ["-stimuli", str(tmp_path / "stimuli"), "-outputs", str(tmp_path / "outputs"),
                     "-expected", str(tmp_path / "expected"), "-rtol", str(RTOL),
                     "-atol", str(ATOL)], preexec_fn=_limit_memory)
    assert "PASS" in proc.stdout, proc.stdout
    assert "labels ignored" in proc.stdout and "Success rate" not in proc.stdout
    np.testing.assert_allclose(np.load(tmp_path / "outputs" / "img.npy"), ref,
                               rtol=RTOL, atol=ATOL)
