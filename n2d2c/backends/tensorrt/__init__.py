"""The ``tensorrt`` backend: a C++17 project that builds the network with TensorRT's
network-definition API (TensorRT 10/11: explicit batch, named I/O tensors,
``enqueueV3``, plugins on ``IPluginV3``), in the way of N2D2's CPP_TensorRT export.

    n2d2c compile model.onnx --backend tensorrt -o out/
    n2d2c compile model.onnx --backend tensorrt --calib-data calib.npz -o out/   # + INT8 scales
    cmake -S out -B out/build -DTENSORRT_ROOT=... && cmake --build out/build -j
    cd out && build/n2d2c_trt_test -nbbits -16 -batch 8 -prof

The project (``project.py``): ``include/`` + ``src/`` (``network.cpp`` is the
generated layer list, ``layers*.py``; the rest are fixed helpers: the builder
calls, engine build/serialise/reload and run, weights, calibration scales, the
plugins, the benchmark ``main.cpp`` with N2D2's options and the C API
``inference.cpp``), ``plugins/unary_kernels.cu`` (CUDA kernels of the ops TensorRT
lacks, compiled at run time with NVRTC), ``python/n2d2c_tensorrt.py`` (ctypes
wrapper), ``weights/``, ``calib/scales.txt``, ``stimuli/``, ``expected/``,
``CMakeLists.txt`` and ``network.json``.

Precision is chosen when the engine is built (``-nbbits``): FP32, FP16 (float
tensors and weights in half; TensorRT 11 networks are strongly typed) or INT8 as
explicit quantization, Quantize/Dequantize pairs with n2d2c's own calibration
scales in front of each convolution and matrix product (``calibration_scales``).
``--calib-data`` on the command line calibrates with n2d2c's quantizer and hands
the backend the float graph plus the quantized one (``quantized_graph``), whose
scales are written to ``calib/scales.txt``.
"""

from __future__ import annotations

from pathlib import Path

from ..registry import Backend, BackendOption, CompileOptions, register_backend

DEFAULT_PIPELINE = "remove-dropout,fuse-bn,simplify-reshape,dead-code"
OPTIONS = (
    BackendOption("stimuli", 3, "stimuli exported to stimuli/ (random inputs, or the first N "
                                "samples of stimuli_data; 0 with stimuli_data: all)"),
    BackendOption("seed", 0, "seed of the random stimuli"),
    BackendOption("expected", True, "export the float simulator's outputs to expected/"),
    BackendOption("stimuli_data", "", "data set (.npz with x and labels y, .npy, image "
                                      "folder) to export as stimuli: the test program then "
                                      "prints the success rate"),
)


def emit(graph, out_dir: Path, options: CompileOptions) -> None:
    from .project import write_project
    extra = dict(options.extra)
    quantized = extra.pop("quantized_graph", None)
    opts = BACKEND.resolve_options(extra)
    write_project(graph, Path(out_dir), options.name, opts, quantized)


BACKEND = register_backend(Backend(
    name="tensorrt",
    description="C++17 TensorRT 10/11 project (network-definition API, IPluginV3 plugins, "
                "FP32/FP16/INT8 Q/DQ, benchmark, C/Python wrappers, CMake)",
    default_pipeline=DEFAULT_PIPELINE, emit=emit, options=OPTIONS,
    takes_float_graph=True))

__all__ = ["BACKEND", "OPTIONS"]
