"""The TensorRT project: generated C++ compiles against the real TensorRT 11.1 headers,
its host-side helpers run, the plugin kernels compile to PTX, output is deterministic,
the weights and INT8 scales are n2d2c's."""

from __future__ import annotations

import filecmp
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import n2d2c
from n2d2c.backends.tensorrt.project import LIBRARY_SOURCES, kernel_source
from n2d2c.quantization import quantize_graph, value_scales

from .cases import families, family_graph
from .toolchain import require_headers, syntax_check

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ALL_SOURCES = [f"src/{s}" for s in (*LIBRARY_SOURCES, "main.cpp")]


@pytest.fixture(scope="module")
def calib():
    return np.load(FIXTURES / "digits_calib.npz")["x"][:64]


@pytest.fixture(scope="module")
def digits(tmp_path_factory, calib):
    out = tmp_path_factory.mktemp("trt") / "digits"
    n2d2c.compile(FIXTURES / "digits_cnn.onnx", out, backend="tensorrt", calibration=calib)
    return out


def test_every_source_compiles_against_the_real_headers(digits):
    syntax_check(digits, ALL_SOURCES)
    wrapper = digits / "python" / "n2d2c_tensorrt.py"
    compile(wrapper.read_text(), str(wrapper), "exec")  # the ctypes wrapper is valid Python


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18"])
def test_zoo_networks_compile_and_carry_the_batch(tmp_path, name):
    from n2d2c.examples import zoo
    from n2d2c.frontend.onnx import load_onnx
    model = zoo.mobilenet_v2(size=32, width=0.35, classes=10) if name == "mobilenet_v2" \
        else zoo.resnet18(size=32, width=8, classes=10)
    n2d2c.compile(load_onnx(model), tmp_path / name, backend="tensorrt", stimuli=1)
    syntax_check(tmp_path / name, ["src/network.cpp"])
    manifest = json.loads((tmp_path / name / "network.json").read_text())
    assert manifest["batchable"], manifest["batch_note"]  # -batch 8 / 32 build
    network = (tmp_path / name / "src" / "network.cpp").read_text()
    assert 'b.input("input", DataType::kFLOAT, dims({b.B, 3, 32, 32}))' in network
    # The expected outputs are the float simulator's on the exported stimulus (after
    # the backend's pipeline: batch norms folded, hence float32 rounding apart).
    x = np.fromfile(tmp_path / name / "stimuli" / "0.in0.bin", np.float32).reshape(1, 3, 32, 32)
    want = n2d2c.run(load_onnx(model), {"input": x})["output"]
    got = np.fromfile(tmp_path / name / "expected" / "0.out0.bin", np.float32)
    np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-5, atol=1e-6)


def test_no_deprecated_tensorrt_api_is_used(digits):
    # The headers as system headers: only the generated code's own warnings count.
    syntax_check(digits, ALL_SOURCES, strict=True)


@pytest.mark.parametrize("family", sorted(families()))
def test_op_family_network_compiles(tmp_path, family):
    graph = family_graph(family, families()[family])
    out = tmp_path / family
    n2d2c.compile(graph, out, backend="tensorrt", passes="", stimuli=0)
    syntax_check(out, ["src/network.cpp"])
    ops = {op.OP_NAME for op in graph.ops} - {"constant"}
    assert len(json.loads((out / "network.json").read_text())["layers"]) >= len(ops)


def test_weights_files_hold_the_constants(digits):
    graph = n2d2c.load(FIXTURES / "digits_cnn.onnx")
    constants = {v.name: graph.constant_value(v) for v in graph.values()
                 if graph.constant_value(v) is not None}
    rows = (digits / "weights" / "index.txt").read_text().splitlines()
    assert len(rows) == len(constants)
    for row in rows:
        file, dtype, shape, name = row.split("\t")
        data = np.fromfile(digits / "weights" / file, dtype=dtype)
        np.testing.assert_array_equal(data, constants[name].reshape(-1))


def test_int8_scales_are_the_quantizers(digits, calib):
    graph = n2d2c.load(FIXTURES / "digits_cnn.onnx")
    qgraph, _ = quantize_graph(graph, calib, {"nbbits": 8})
    declared = dict(value_scales(qgraph))
    table = {}
    for line in (digits / "calib" / "scales.txt").read_text().splitlines()[1:]:
        name, values = line.split("\t")
        table[name] = [float(v) for v in values.split()]
    for layer in ("/conv1/Conv", "/conv2/Conv", "/fc/Gemm"):
        np.testing.assert_allclose(table[f"{layer}.wq"], declared[f"{layer}.wq"].scales)
    # The input is u8 in n2d2c (0..255 s); TensorRT's int8 covers it with 255 s / 127.
    np.testing.assert_allclose(table["input"], [declared["input.q"].scales[0] * 255 / 127])
    # Every conv/gemm input has its activation scale: all three layers run in INT8.
    assert {"input", "/Relu_output_0", "/Flatten_output_0"} <= set(table)


def test_generated_project_is_deterministic(tmp_path, calib):
    for name in ("a", "b"):
        n2d2c.compile(FIXTURES / "digits_cnn.onnx", tmp_path / name, backend="tensorrt",
                      calibration=calib)
    compared = filecmp.dircmp(tmp_path / "a", tmp_path / "b")

    def differences(d):
        return d.diff_files + d.left_only + d.right_only + [
            f for sub in d.subdirs.values() for f in differences(sub)]
    assert not differences(compared)


def test_plugin_kernels_compile_to_ptx(digits):
    from n2d2c.backends.tensorrt import nvrtc
    from .toolchain import cuda_include_dirs
    cuda_include_dirs()  # skip (fail in CI) without the pip CUDA packages
    source = (digits / "plugins" / "unary_kernels.cu").read_text()
    assert source == kernel_source()
    # plugins.cpp compiles the same text at run time: the header embeds it verbatim.
    assert source.strip() in (digits / "include" / "plugin_kernels.hpp").read_text()
    ptx = nvrtc.compile_to_ptx(source, "unary_kernels.cu")
    assert ".entry n2d2c_unary_f32" in ptx
    broken = source.replace("tanhf(", "tanhff(")
    with pytest.raises(n2d2c.errors.ToolError, match="tanhff"):
        nvrtc.compile_to_ptx(broken)


HOST_TEST = r"""
#include <cstdio>
#include <cstring>
#include "weights.hpp"
#include "calibration.hpp"
using namespace n2d2c_trt;
int main(int argc, char** argv) {
    // argv[1]: float32 values; prints their half bits, then the scales file's table.
    FILE* f = std::fopen(argv[1], "rb");
    float v;
    while (std::fread(&v, 4, 1, f) == 1) std::printf("%u\n", halfBits(v));
    std::fclose(f);
    Scales s = Scales::read(argv[2]);
    const std::vector<float>* w = s.find(argv[3]);
    std::printf("scales %zu %zu %.9g\n", s.size(), w ? w->size() : 0, w ? (*w)[0] : 0.0f);
    return 0;
}
"""


def test_host_helpers_run(digits, tmp_path):
    """weights.cpp's float -> half conversion (FP16 weights) against numpy, and the
    calibration file reader, compiled and run on the CPU."""
    includes = require_headers()
    (tmp_path / "host.cpp").write_text(HOST_TEST)
    exe = tmp_path / "host"
    subprocess.run(["g++", "-std=c++17", "-O1", f"-I{digits / 'include'}", *includes,
                    str(tmp_path / "host.cpp"), str(digits / "src" / "weights.cpp"),
                    str(digits / "src" / "calibration.cpp"), "-o", str(exe)], check=True)
    rng = np.random.default_rng(1)
    values = np.concatenate([
        rng.standard_normal(2000) * 10.0 ** rng.integers(-9, 6, 2000),
        [0.0, -0.0, 65504.0, 65520.0, 1e6, -1e6, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26,
         np.inf, -np.inf, 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11]]).astype(np.float32)
    values.tofile(tmp_path / "values.bin")
    out = subprocess.run([str(exe), str(tmp_path / "values.bin"),
                          str(digits / "calib" / "scales.txt"), "/conv2/Conv.wq"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    got = np.array([int(x) for x in out[:-1]], np.uint16)
    with np.errstate(over="ignore"):  # 65520 and 1e6 overflow to infinity, as in C++
        want = values.astype(np.float16).view(np.uint16)
    np.testing.assert_array_equal(got, want)
    _, count, channels, first = out[-1].split()
    lines = (digits / "calib" / "scales.txt").read_text().splitlines()[1:]
    assert int(count) == len(lines) and int(channels) == 16
    wq = next(line for line in lines if line.startswith("/conv2/Conv.wq\t"))
    assert float(first) == pytest.approx(float(wq.split("\t")[1].split()[0]), rel=1e-7)


def test_labelled_stimuli_for_the_success_rate(tmp_path):
    data = np.load(FIXTURES / "digits_test.npz")
    n2d2c.compile(FIXTURES / "digits_cnn.onnx", tmp_path / "p", backend="tensorrt",
                  stimuli=5, stimuli_data=str(FIXTURES / "digits_test.npz"))
    labels = (tmp_path / "p" / "stimuli" / "labels.txt").read_text().split()
    assert [int(v) for v in labels] == data["y"][:5].tolist()
    for k in range(5):
        x = np.fromfile(tmp_path / "p" / "stimuli" / f"{k}.in0.bin", np.float32)
        np.testing.assert_array_equal(x, data["x"][k].reshape(-1))
    assert not (tmp_path / "p" / "stimuli" / "5.in0.bin").exists()


KERNEL_ON_HOST = r"""
// The plugin kernel text compiled as host C++: one "thread" walks the grid-stride loop.
#include <cmath>
#include <cstdio>
#include <vector>
#define __device__
#define __forceinline__ inline
#define __global__
#define __restrict__
#include <math.h>  // expf, log1pf, tanhf as CUDA spells them
struct Index { unsigned x; };
static const Index blockIdx{0}, threadIdx{0}, blockDim{1}, gridDim{1};
#include "unary_kernels.cu"
int main() {
    std::vector<float> x;
    float v;
    while (std::scanf("%f", &v) == 1) x.push_back(v);
    std::vector<float> y(x.size());
    n2d2c_unary_f32(x.data(), y.data(), (long long)x.size(), OP);
    for (float r : y) std::printf("%.9g\n", r);
}
"""


def test_plugin_kernel_math_matches_the_simulator(digits, tmp_path):
    """The CUDA text of each plugin function, run on the CPU against the simulator."""
    from support import require_tool
    from n2d2c.backends.tensorrt.coverage import PLUGIN_UNARY
    from n2d2c.ir import parse_graph
    from n2d2c.runtime import simulate
    require_tool("g++")
    (tmp_path / "host.cpp").write_text(KERNEL_ON_HOST)
    x = np.concatenate([np.linspace(-30, 30, 601), [0.0, 1e-7, -1e-7, 20.0, 20.5, 88.0,
                                                    -88.0]]).astype(np.float32)
    for name, (code, _, _) in PLUGIN_UNARY.items():
        exe = tmp_path / name
        subprocess.run(["g++", "-std=c++17", "-O1", f"-DOP={code}",
                        f"-I{digits / 'plugins'}", str(tmp_path / "host.cpp"), "-o", str(exe)],
                       check=True)
        out = subprocess.run([str(exe)], input="\n".join(map(repr, x.tolist())),
                             capture_output=True, text=True, check=True).stdout.split()
        graph = parse_graph(f"""
graph @g(%x: tensor<{x.size}xf32>) {{
  %y = {name}(%x) : tensor<{x.size}xf32>
  return %y
}}""")
        want = simulate(graph, {"x": x})["y"]
        np.testing.assert_allclose(np.array(out, np.float32), want, rtol=2e-6, atol=1e-6,
                                   err_msg=name)
