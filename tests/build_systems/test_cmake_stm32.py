"""n2d2c_add_model(... BACKEND stm32 OPTIONS ...) in a cross-compiled CMake project: the
options reach n2d2c (int8 for a Cortex-M4, calibrated), the library is built by the
project's ARM toolchain, and the calibration file is an input of the build."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import onnx

from n2d2c.examples.lenet import lenet
from support import require_tool

from .examples import compiled_files, run

CMAKELISTS = """cmake_minimum_required(VERSION 3.20)
project(fw_lib LANGUAGES C)
find_package(n2d2c REQUIRED)
n2d2c_add_model(net MODEL model.onnx BACKEND stm32
                OPTIONS -X mcu=cortex-m4 --nbbits 8 --calib-data calib.npz)
"""
CROSS = ["-DCMAKE_SYSTEM_NAME=Generic", "-DCMAKE_C_COMPILER=arm-none-eabi-gcc",
         "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
         "-DCMAKE_C_FLAGS=-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"]


def test_stm32_library_with_options(tmp_path):
    require_tool("cmake", "arm-none-eabi-gcc", "arm-none-eabi-nm", "arm-none-eabi-readelf",
                 "n2d2c")
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKELISTS)
    onnx.save(lenet(), src / "model.onnx")
    calib = np.random.default_rng(0).standard_normal((8, 1, 1, 28, 28)).astype(np.float32)
    np.savez(src / "calib.npz", x=calib.reshape(8, 1, 28, 28))
    generator = "Ninja" if shutil.which("ninja") else "Unix Makefiles"
    build = tmp_path / "build"
    cmake_dir = run(["n2d2c", "--cmake-dir"], tmp_path).strip()
    run(["cmake", "-S", str(src), "-B", str(build), "-G", generator,
         f"-Dn2d2c_DIR={cmake_dir}", *CROSS], tmp_path)
    first = run(["cmake", "--build", str(build)], tmp_path)
    assert {"network.c", "weights.c"} <= compiled_files(first)
    generated = build / "n2d2c" / "net"
    assert "int8_t" in (generated / "network.c").read_text()          # --nbbits 8 reached it
    assert "cortex-m4" in (generated / "Makefile").read_text()        # so did -X mcu
    library = build / "libnet.a"
    header = subprocess.run(["arm-none-eabi-readelf", "-h", str(library)], capture_output=True,
                            text=True, check=True).stdout
    assert "Machine:                           ARM" in header
    symbols = subprocess.run(["arm-none-eabi-nm", str(library)], capture_output=True,
                             text=True, check=True).stdout
    assert " T net_run" in symbols

    # The calibration data is an input: new samples regenerate the project.
    built = os.stat(library).st_mtime_ns
    np.savez(src / "calib.npz", x=(calib * 3).reshape(8, 1, 28, 28))
    changed = run(["cmake", "--build", str(build)], tmp_path)
    assert "n2d2c: stm32 code of" in changed and "weights.c" in compiled_files(changed)
    assert os.stat(library).st_mtime_ns != built
    idle = run(["cmake", "--build", str(build)], tmp_path)
    assert "n2d2c:" not in idle and not compiled_files(idle)
