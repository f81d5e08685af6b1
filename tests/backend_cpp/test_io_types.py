"""Graph inputs and outputs that are not float32, end to end against onnxruntime: a float16
conv net (float16 weights, input and output) and a net with int64 and bool inputs and
outputs, through the simulator, the generated C++ and C99 testbenches (typed API, .npy
stimuli/outputs of each tensor's own type) and the ONNX export; the C float16 conversions
against numpy on every float16 and on the float32 rounding boundaries."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from onnx import numpy_helper

from fixtures.io_types import float16_convnet, float16_inputs, index_mask_inputs, index_mask_net
from n2d2c.backends.c.io_types import HALF_HELPERS
from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, compiler, run, run_inputs
from n2d2c.backends.onnx import export_model
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import DType, Graph, TensorType, ops
from n2d2c.runtime import simulate

from .harness import TEST_OPT, require_compiler, run_ort

MODELS = {"float16_convnet": (float16_convnet, float16_inputs),
          "index_mask_net": (index_mask_net, index_mask_inputs)}
# float16 outputs: n2d2c computes in float32 and rounds once, onnxruntime's float16 kernels
# may round inside (its CPU Conv/Gemm compute float16 in float32 too: usually bit-exact).
HALF_ULPS = 2


def assert_matches(got: dict, ref: list, names: list[str]) -> None:
    assert list(got) == names
    for name, have, want in zip(names, got.values(), ref):
        have = np.asarray(have)
        assert have.dtype == want.dtype and have.shape == want.shape, (name, have.dtype, want.dtype)
        if want.dtype == np.float16:
            ulps = np.abs(have.view(np.int16).astype(int) - want.view(np.int16).astype(int))
            assert ulps.max() <= HALF_ULPS, (name, have, want)
        elif want.dtype.kind == "f":
            np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(have, want, err_msg=name)


def _case(key: str):
    make, inputs = MODELS[key]
    model = make()
    feeds = inputs()
    return model, feeds, run_ort(model, feeds), [o.name for o in model.graph.output]


@pytest.mark.parametrize("key", MODELS)
def test_simulator_matches_onnxruntime(key):
    model, feeds, ref, names = _case(key)
    graph = load_onnx(model)
    assert [v.type.dtype.numpy for v in graph.inputs] == [a.dtype for a in feeds.values()]
    assert_matches(simulate(graph, feeds), ref, names)


def test_float16_model_computes_in_float32_inside():
    graph = load_onnx(float16_convnet())
    kinds = [op.OP_NAME for op in graph.ops if op.OP_NAME != "constant"]
    assert kinds[0] == "cast" and kinds[-1] == "cast"
    inner = [op for op in graph.ops if op.OP_NAME not in ("cast", "constant")]
    assert all(v.type.dtype.value == "f32" for op in inner for v in (*op.inputs, *op.outputs))
    # float16 weights are float32 constants holding exactly the float16 values
    w = graph.constant_value(graph.find_op("conv").inputs[1])
    w16 = numpy_helper.to_array([t for t in float16_convnet().graph.initializer
                                 if t.name == "w"][0])
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, w16.astype(np.float32))


@pytest.mark.parametrize("key", MODELS)
def test_onnx_export_keeps_the_declared_io_types(key):
    model, feeds, ref, names = _case(key)
    exported = export_model(load_onnx(model))
    for a, b in zip([*model.graph.input, *model.graph.output],
                    [*exported.graph.input, *exported.graph.output]):
        assert a.type.tensor_type.elem_type == b.type.tensor_type.elem_type, a.name
    assert_matches(dict(zip(names, run_ort(exported, feeds))), ref, names)


@pytest.fixture(scope="module", params=["cpp", "c"])
def built(request, tmp_path_factory):
    target = request.param
    require_compiler("c++" if target == "cpp" else "c")
    root = tmp_path_factory.mktemp(f"io_types_{target}")
    dirs = {}
    for key in MODELS:
        out = compile_to_dir(load_onnx(MODELS[key][0]()), root / key, target=target)
        build(out, opt=TEST_OPT)
        dirs[key] = out
    return target, dirs


@pytest.mark.parametrize("key", MODELS)
def test_compiled_testbench_matches_onnxruntime(built, key):
    target, dirs = built
    model, feeds, ref, names = _case(key)
    assert_matches(run_inputs(dirs[key], feeds), ref, names)


@pytest.mark.parametrize("key", MODELS)
def test_stimuli_and_expected_files_carry_the_dtype(built, key):
    target, dirs = built
    out = dirs[key]
    manifest = json.loads((out / "network.json").read_text())
    model = MODELS[key][0]()
    declared = {"x": np.float16} if key == "float16_convnet" else {
        "x": np.float32, "idx": np.int64, "mask": np.bool_}
    for entry in manifest["inputs"]:
        assert entry["dtype"] == np.dtype(declared[entry["name"]]).name
        stimulus = np.load(out / "stimuli" / f"sample_000{entry['suffix']}")
        assert stimulus.dtype == declared[entry["name"]]
    for entry, vi in zip(manifest["outputs"], model.graph.output):
        expected = np.load(out / "expected" / f"sample_000{entry['suffix']}")
        assert expected.dtype.name == entry["dtype"], vi.name
    # The testbench reads them and compares its own outputs with the expected ones.
    assert "FAIL" not in run(out, ["-outputs", str(out / "outs")]).stdout
    header = (out / ("network.hpp" if target == "cpp" else "network.h")).read_text()
    assert ("uint16_t" in header) == (key == "float16_convnet")
    assert "const void* const* inputs" in header


def test_float16_conversions_match_numpy(tmp_path):
    """Every float16 to float32 and back; float32 values on and around every rounding
    boundary (ties to even, subnormals, overflow, NaN) to float16."""
    require_compiler("c")
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    as_f32 = halves.view(np.float16).astype(np.float32)
    finite = as_f32[np.isfinite(as_f32)].astype(np.float64)
    ordered = np.unique(finite)
    midpoints = ((ordered[:-1] + ordered[1:]) / 2).astype(np.float32)
    near = np.concatenate([np.nextafter(midpoints, np.float32(np.inf)),
                           np.nextafter(midpoints, np.float32(-np.inf))])
    rng = np.random.default_rng(0)
    extra = np.array([65504, 65519.99, 65520, 65536, 1e30, -1e30, 2.0**-25, 2.0**-26, 1e-40,
                      np.inf, -np.inf, np.nan, -0.0], np.float32)
    floats = np.concatenate([as_f32, midpoints, near, extra,
                             rng.standard_normal(20000).astype(np.float32) * 1e3])
    src = tmp_path / "half.c"
    src.write_text("#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n"
                   + HALF_HELPERS + r"""
int main(void)
{
    FILE* in = fopen("in.bin", "rb");
    FILE* out = fopen("out.bin", "wb");
    uint16_t h;
    float f;
    long n, i;
    if (fread(&n, sizeof n, 1, in) != 1) return 1;
    for (i = 0; i < 65536; ++i) {
        h = (uint16_t)i;
        f = n2d2c_f16_to_f32(h);
        fwrite(&f, sizeof f, 1, out);
    }
    for (i = 0; i < n; ++i) {
        if (fread(&f, sizeof f, 1, in) != 1) return 1;
        h = n2d2c_f32_to_f16(f);
        fwrite(&h, sizeof h, 1, out);
    }
    return fclose(out) != 0;
}
""")
    exe = tmp_path / "half"
    subprocess.run([compiler("c"), "-std=c99", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror",
                    str(src), "-o", str(exe)], check=True)
    (tmp_path / "in.bin").write_bytes(np.int64(floats.size).tobytes() + floats.tobytes())
    subprocess.run([str(exe)], cwd=tmp_path, check=True)
    data = (tmp_path / "out.bin").read_bytes()
    widened = np.frombuffer(data[:4 << 16], np.float32)
    np.testing.assert_array_equal(widened.view(np.uint32), as_f32.view(np.uint32))
    narrowed = np.frombuffer(data[4 << 16:], np.uint16)
    with np.errstate(over="ignore"):  # 65520 and up: inf, as in C
        want = floats.astype(np.float16).view(np.uint16)
    nan = np.isnan(floats)
    np.testing.assert_array_equal(narrowed[~nan], want[~nan])
    assert np.isnan(narrowed[nan].view(np.float16)).all()


def test_float16_constant_read_by_a_cast(tmp_path):
    """A float16 constant (a hand-built graph: the ONNX frontend makes them float32) is
    emitted as its bit patterns and widened exactly by the cast."""
    require_compiler("c")
    graph = Graph("c16")
    x = graph.add_input("x", TensorType((3,), DType.F32))
    half = np.array([0.1, -2.5, 65504], np.float16)
    widened = graph.add(ops.Cast(dtype="f32", name="widen"), [graph.constant(half, "c")]).output
    graph.outputs = [graph.add(ops.Add(name="add"), [x, widened]).output]
    out = compile_to_dir(graph, tmp_path / "c16", target="c", stimuli=0)
    build(out, opt=TEST_OPT)
    got = run_inputs(out, {"x": np.ones(3, np.float32)})["add"]
    np.testing.assert_array_equal(got, np.float32(1) + half.astype(np.float32))
