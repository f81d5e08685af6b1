"""examples/cmake_app: find_package(n2d2c) + n2d2c_add_model configure, build and run;
the network library is rebuilt exactly when the model changes."""

from __future__ import annotations

import os
import shutil

import numpy as np
import onnx
import pytest

from n2d2c.examples.lenet import lenet
from support import require_tool

from .examples import compiled_files, copy_example, reference_output, run


def generators() -> list[str]:
    # Ninja when it is installed (pip install ninja; its restat keeps unchanged files'
    # dependents idle), and Make's generator, CMake's default, which has no restat.
    return (["Ninja"] if shutil.which("ninja") else []) + ["Unix Makefiles"]


@pytest.mark.parametrize("generator", generators())
def test_cmake_app(tmp_path, generator):
    require_tool("cmake", "g++", "n2d2c")
    src = copy_example("cmake_app", tmp_path)
    cmake_dir = run(["n2d2c", "--cmake-dir"], tmp_path).strip()
    build = tmp_path / "build"
    run(["cmake", "-S", str(src), "-B", str(build), "-G", generator,
         f"-Dn2d2c_DIR={cmake_dir}"], tmp_path)
    first = run(["cmake", "--build", str(build)], tmp_path)
    assert {"network.cpp", "weights.cpp", "main.cpp"} <= compiled_files(first)
    app = build / "app"

    def outputs():
        return np.array([float(v) for v in run([str(app)], tmp_path).split()], np.float32)

    np.testing.assert_allclose(outputs(), reference_output(src / "model.onnx"), rtol=1e-4,
                               atol=1e-6)

    # Nothing touched: nothing runs.
    idle = run(["cmake", "--build", str(build)], tmp_path)
    assert "n2d2c:" not in idle and not compiled_files(idle)
    if generator == "Ninja":
        assert "no work to do" in idle

    # The model touched, bytes the same: n2d2c runs again, its files keep their times,
    # nothing recompiles; then the build is idle again.
    library = build / "liblenet.a"
    stamp = os.stat(library).st_mtime_ns
    os.utime(src / "model.onnx")
    touched = run(["cmake", "--build", str(build)], tmp_path)
    assert "n2d2c: cpp code of" in touched and not compiled_files(touched)
    assert os.stat(library).st_mtime_ns == stamp
    assert not compiled_files(run(["cmake", "--build", str(build)], tmp_path))

    # New weights: the library is rebuilt (only the weights change) and the app follows.
    onnx.save(lenet(seed=3), src / "model.onnx")
    changed = run(["cmake", "--build", str(build)], tmp_path)
    assert compiled_files(changed) == {"weights.cpp"}
    assert os.stat(library).st_mtime_ns != stamp
    np.testing.assert_allclose(outputs(), reference_output(src / "model.onnx"), rtol=1e-4,
                               atol=1e-6)
