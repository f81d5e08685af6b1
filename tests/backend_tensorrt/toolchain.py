"""What the TensorRT tests compile against: the real TensorRT 11.1 headers in
../shared/third_party and the CUDA headers of the pip packages
nvidia-cuda-runtime-cu12 / nvidia-cuda-nvcc-cu12 / nvidia-cuda-nvrtc-cu12 (no GPU)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import REPO, in_ci, require_tool

TENSORRT_INCLUDE = REPO.parent / "shared" / "third_party" / "tensorrt-11.1" / "include"
CUDA_PACKAGES = ("cuda_runtime", "cuda_nvcc", "cuda_nvrtc")
# The flags of the issue; deprecated declarations inside the headers are silenced.
FLAGS = ("-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-Wno-deprecated-declarations")


def _missing(message: str) -> None:
    if in_ci():
        pytest.fail(f"{message}; CI=true, so this may not be skipped")
    pytest.skip(message)


def cuda_include_dirs() -> list[Path]:
    """The include folders of the pip CUDA packages (skips when one is missing)."""
    try:
        import nvidia
    except ImportError:
        _missing("needs pip install nvidia-cuda-runtime-cu12 nvidia-cuda-nvcc-cu12 "
                 "nvidia-cuda-nvrtc-cu12")
    dirs = []
    for package in CUDA_PACKAGES:
        found = [Path(root, package, "include") for root in nvidia.__path__
                 if Path(root, package, "include").is_dir()]
        if not found:
            _missing(f"needs the pip package nvidia-{package.replace('_', '-')}-cu12")
        dirs.append(found[0])
    return dirs


def require_headers() -> list[str]:
    """-I flags of TensorRT and CUDA (skips, or fails under CI, when absent)."""
    require_tool("g++")
    if not (TENSORRT_INCLUDE / "NvInfer.h").is_file():
        _missing(f"TensorRT headers not found at {TENSORRT_INCLUDE}")
    return [f"-I{TENSORRT_INCLUDE}", *(f"-I{d}" for d in cuda_include_dirs())]


def syntax_check(project: Path, sources: list[str], *, strict: bool = False) -> None:
    """g++ -fsyntax-only every source of ``project``; ``strict`` also treats a use of a
    deprecated TensorRT/CUDA API as an error (the headers as system headers, so only
    the generated code's own uses are reported)."""
    includes = require_headers()
    if strict:
        flags = ["-std=c++17", "-fsyntax-only", "-Wall", "-Wextra", "-Werror"]
        includes = [f"-isystem{flag[2:]}" for flag in includes]
    else:
        flags = list(FLAGS)
    for source in sources:
        result = subprocess.run(["g++", *flags, f"-I{project / 'include'}", *includes,
                                 str(project / source)], capture_output=True, text=True)
        assert result.returncode == 0, f"{source} does not compile:\n{result.stderr[-4000:]}"
