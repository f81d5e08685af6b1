"""n2d2c_add_model(... BACKEND stm32 OPTIONS ...) in a cross-compiled CMake project: the
options reach n2d2c (int8 for a Cortex-M4, calibrated), the library is built by the
project's ARM toolchain, a firmware linked with the project's startup code runs under QEMU
bit-exact with the integer simulator, and the calibration file is an input of the build."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import onnx

import n2d2c
from n2d2c.backends.registry import get_backend
from n2d2c.examples.lenet import lenet
from n2d2c.quantization import quantize_graph
from n2d2c.runtime import simulate
from support import require_tool

from .examples import compiled_files, example_input, run

CMAKELISTS = """cmake_minimum_required(VERSION 3.20)
project(fw LANGUAGES C)
find_package(n2d2c REQUIRED)
n2d2c_add_model(net MODEL model.onnx BACKEND stm32
                OPTIONS -X mcu=cortex-m4 --nbbits 8 --calib-data calib.npz)
# A firmware for QEMU's board: the project's startup code and linker script.
get_target_property(startup net N2D2C_STARTUP)
get_target_property(ldscript net N2D2C_QEMU_LINKER_SCRIPT)
add_executable(fw.elf main.c "${startup}")
target_link_libraries(fw.elf PRIVATE net)
target_link_options(fw.elf PRIVATE -nostartfiles --specs=nano.specs -Wl,--gc-sections
                    "-T${ldscript}")
set_target_properties(fw.elf PROPERTIES LINK_DEPENDS "${ldscript}")
"""
# Runs net on the examples' input and prints each output's bits (semihosting).
MAIN_C = """#include <stdint.h>
#include <string.h>
#include "network.h"
void n2d2c_write(const char* text);
static float input[NET_INPUT0_SIZE], output[NET_OUTPUT0_SIZE];
int main(void)
{
    static const char hex[] = "0123456789abcdef";
    const float* inputs[1] = {input};
    float* outputs[1] = {output};
    int i, shift;
    for (i = 0; i < NET_INPUT0_SIZE; ++i) input[i] = (float)(i % 17) / 17.0f - 0.5f;
    net_run(inputs, outputs);
    for (i = 0; i < NET_OUTPUT0_SIZE; ++i) {
        char line[16] = "@out ", *p = line + 5;
        uint32_t bits;
        memcpy(&bits, &output[i], sizeof bits);
        for (shift = 28; shift >= 0; shift -= 4) *p++ = hex[(bits >> shift) & 0xFu];
        *p++ = '\\n';
        *p = '\\0';
        n2d2c_write(line);
    }
    return 0;
}
"""
CROSS = ["-DCMAKE_SYSTEM_NAME=Generic", "-DCMAKE_C_COMPILER=arm-none-eabi-gcc",
         "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
         "-DCMAKE_C_FLAGS=-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"]


def qemu_outputs(elf, folder) -> np.ndarray:
    log = folder / "qemu.log"
    with open(log, "w") as sink:  # a file, not a pipe: QEMU's stdio is non-blocking
        proc = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor",
                               "none", "-semihosting-config", "enable=on,target=native",
                               "-kernel", str(elf)], stdout=sink, stderr=subprocess.STDOUT,
                              timeout=120)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    bits = [int(line.split()[1], 16) for line in text.splitlines() if line.startswith("@out ")]
    return np.array(bits, np.uint32).view(np.float32)


def integer_reference(src) -> np.ndarray:
    """The integer simulator on the same input, quantized as the OPTIONS say."""
    graph = n2d2c.load(src / "model.onnx")
    n2d2c.Pipeline.parse(get_backend("stm32").default_pipeline).run(graph)
    with np.load(src / "calib.npz") as data:
        qgraph, _ = quantize_graph(graph, data["x"], {"nbbits": 8})
    return simulate(qgraph, {"input": example_input()})["output"].ravel()


def test_stm32_library_with_options(tmp_path):
    require_tool("cmake", "arm-none-eabi-gcc", "arm-none-eabi-nm", "arm-none-eabi-readelf",
                 "qemu-system-arm", "n2d2c")
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKELISTS)
    (src / "main.c").write_text(MAIN_C)
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
    np.testing.assert_array_equal(qemu_outputs(build / "fw.elf", tmp_path),
                                  integer_reference(src))

    # The calibration data is an input: new samples regenerate the project.
    built = os.stat(library).st_mtime_ns
    np.savez(src / "calib.npz", x=(calib * 3).reshape(8, 1, 28, 28))
    changed = run(["cmake", "--build", str(build)], tmp_path)
    assert "n2d2c: stm32 code of" in changed and "weights.c" in compiled_files(changed)
    assert os.stat(library).st_mtime_ns != built
    idle = run(["cmake", "--build", str(build)], tmp_path)
    assert "n2d2c:" not in idle and not compiled_files(idle)
