"""Two cpp models in one CMake application: each its library, namespace and include
path ("<target>/network.hpp")."""

from __future__ import annotations

import shutil

import numpy as np
import onnx

from n2d2c.examples.lenet import lenet
from support import require_tool

from .examples import reference_output, run

CMAKELISTS = """cmake_minimum_required(VERSION 3.20)
project(two_models LANGUAGES CXX)
find_package(n2d2c REQUIRED)
n2d2c_add_model(first MODEL first.onnx BACKEND cpp)
n2d2c_add_model(second MODEL second.onnx BACKEND cpp)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE first second)
"""
MAIN = """#include <cstdio>
#include "first/network.hpp"
#include "second/network.hpp"

template <class In, class Out, class Run>
void print(In* in, Out* out, int n_in, int n_out, Run run)
{
    for (int i = 0; i < n_in; ++i) in[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
    run(in, out);
    for (int j = 0; j < n_out; ++j) std::printf("%.9g\\n", static_cast<double>(out[j]));
}

int main()
{
    static float in[784], out[10];
    print(in, out, first::INPUT_SIZE[0], first::OUTPUT_SIZE[0],
          [](const float* i, float* o) { first::run(i, o); });
    print(in, out, second::INPUT_SIZE[0], second::OUTPUT_SIZE[0],
          [](const float* i, float* o) { second::run(i, o); });
    return 0;
}
"""


def test_two_models_in_one_app(tmp_path):
    require_tool("cmake", "g++", "n2d2c")
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKELISTS)
    (src / "main.cpp").write_text(MAIN)
    onnx.save(lenet(seed=1), src / "first.onnx")
    onnx.save(lenet(seed=2), src / "second.onnx")
    generator = "Ninja" if shutil.which("ninja") else "Unix Makefiles"
    build = tmp_path / "build"
    cmake_dir = run(["n2d2c", "--cmake-dir"], tmp_path).strip()
    run(["cmake", "-S", str(src), "-B", str(build), "-G", generator,
         f"-Dn2d2c_DIR={cmake_dir}"], tmp_path)
    run(["cmake", "--build", str(build)], tmp_path)
    values = np.array(run([str(build / "app")], tmp_path).split(), np.float32)
    want = np.concatenate([reference_output(src / "first.onnx"),
                           reference_output(src / "second.onnx")])
    np.testing.assert_allclose(values, want, rtol=1e-4, atol=1e-6)
