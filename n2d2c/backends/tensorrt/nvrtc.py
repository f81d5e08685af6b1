"""CUDA source -> PTX with NVRTC through ctypes (no GPU needed): checks the plugin
kernels on machines without CUDA hardware.  The library comes from the pip package
``nvidia-cuda-nvrtc-cu12`` (or ``$N2D2C_NVRTC``, a path to libnvrtc.so)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from ...errors import ToolError

SUCCESS = 0


def find_library() -> Path | None:
    """libnvrtc.so of the pip package or $N2D2C_NVRTC; None when neither exists."""
    explicit = os.environ.get("N2D2C_NVRTC")
    if explicit:
        return Path(explicit)
    try:
        import nvidia.cuda_nvrtc as package  # namespace package of the pip wheel
    except ImportError:
        return None
    for root in package.__path__:
        for candidate in sorted(Path(root, "lib").glob("libnvrtc.so*")):
            if "builtins" not in candidate.name and "alt" not in candidate.name:
                return candidate
    return None


def _load() -> ctypes.CDLL:
    path = find_library()
    if path is None:
        raise ToolError("NVRTC not found: pip install nvidia-cuda-nvrtc-cu12 "
                        "(or set N2D2C_NVRTC to libnvrtc.so)")
    lib = ctypes.CDLL(str(path))
    lib.nvrtcGetErrorString.restype = ctypes.c_char_p
    return lib


def compile_to_ptx(source: str, name: str = "kernels.cu",
                   arch: str = "compute_80") -> str:
    """The PTX of ``source``; ToolError with NVRTC's log when it does not compile."""
    lib = _load()
    program = ctypes.c_void_p()

    def check(status: int, what: str) -> None:
        if status != SUCCESS:
            raise ToolError(f"NVRTC {what}: {lib.nvrtcGetErrorString(status).decode()}")

    check(lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), name.encode(), 0,
                                 None, None), "create")
    try:
        options = [f"--gpu-architecture={arch}".encode(), b"--std=c++17"]
        array = (ctypes.c_char_p * len(options))(*options)
        status = lib.nvrtcCompileProgram(program, len(options), array)
        if status != SUCCESS:
            size = ctypes.c_size_t()
            lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetProgramLog(program, log)
            raise ToolError(f"NVRTC could not compile {name}:\n{log.value.decode()}")
        size = ctypes.c_size_t()
        check(lib.nvrtcGetPTXSize(program, ctypes.byref(size)), "PTX size")
        ptx = ctypes.create_string_buffer(size.value)
        check(lib.nvrtcGetPTX(program, ptx), "PTX")
        return ptx.value.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(program))
