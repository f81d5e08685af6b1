"""The CMake package's checks: its version against find_package's, and the mistakes
n2d2c_add_model reports at configure time."""

from __future__ import annotations

import subprocess

import pytest

from n2d2c.cli.parser import CMAKE_DIR
from n2d2c.version import __version__
from support import require_tool


def configure(tmp_path, body: str) -> subprocess.CompletedProcess:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION 3.20)\nproject(p LANGUAGES NONE)\n{body}\n")
    return subprocess.run(["cmake", "-S", str(src), "-B", str(tmp_path / "build"),
                           f"-Dn2d2c_DIR={CMAKE_DIR}"], capture_output=True, text=True,
                          timeout=120)


def test_cmake_dir_flag_prints_the_package(tmp_path):
    out = subprocess.run(["n2d2c", "--cmake-dir"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(CMAKE_DIR)
    assert {"n2d2cConfig.cmake", "n2d2cConfigVersion.cmake", "n2d2c.cmake", "n2d2c.mk"} <= \
        {p.name for p in CMAKE_DIR.iterdir()}


@pytest.mark.parametrize("request_version,found", [
    (__version__, True), ("0", True), ("99", False), (f"{__version__} EXACT", True),
])
def test_version_check(tmp_path, request_version, found):
    require_tool("cmake")
    proc = configure(tmp_path, f"find_package(n2d2c {request_version} REQUIRED)\n"
                               "message(STATUS \"n2d2c ${n2d2c_VERSION}\")")
    assert (proc.returncode == 0) == found, proc.stderr[-2000:]
    if found:
        assert f"n2d2c {__version__}" in proc.stdout
    else:
        assert __version__ in proc.stderr  # CMake names the version it found


@pytest.mark.parametrize("call,message", [
    ("n2d2c_add_model(x BACKEND cpp)", "MODEL <file> is required"),
    ("n2d2c_add_model(x MODEL m.onnx BACKEND vhdl)", "BACKEND must be cpp, c or stm32"),
    ("n2d2c_add_model(x MODEL m.onnx FLAVOUR y)", "unknown arguments FLAVOUR"),
])
def test_add_model_mistakes(tmp_path, call, message):
    require_tool("cmake")
    proc = configure(tmp_path, f"find_package(n2d2c REQUIRED)\n{call}")
    assert proc.returncode != 0 and message in proc.stderr.replace("\n", " "), proc.stderr
