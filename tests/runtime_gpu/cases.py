"""Graphs that the array kernels (n2d2c/runtime/gpu) run, each with its feeds: the op
cases of the C++ backend's tests whose ops all have an array kernel, and the zoo's
ResNet-18 / MobileNetV2 in float and int8 (several rescaling modes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from backend_cpp import logic_cases, test_indexing_ops, test_ops, test_reduce_ops
from backend_cpp.harness import import_case

import n2d2c
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.quantization import quantize_graph
from n2d2c.runtime.registry import find_kernel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def has_array_kernels(graph) -> bool:
    return all(find_kernel(op, "array") is not None for op in graph.ops)


def op_cases() -> list[tuple[str, object, dict]]:
    out = []
    for module in (test_ops, test_indexing_ops, test_reduce_ops, logic_cases):
        for cases in module.CASES.values():
            for case in cases:
                graph = import_case(case)
                if has_array_kernels(graph):
                    out.append((case.name, graph, case.feeds))
    return out


def zoo_graphs(batch: int = 1) -> list[tuple[str, object, dict]]:
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((8, 3, 32, 32)).astype(np.float32)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    out = []
    # Narrow versions (same layers) keep the calibration quick.
    for name, model in (("resnet18", zoo.resnet18(size=32, classes=10, width=16)),
                        ("mobilenet_v2", zoo.mobilenet_v2(size=32, width=0.35, classes=10))):
        graph = load_onnx(model)
        out.append((f"{name}/f32", graph, {"input": x}))
        modes = ("Fixed-point16", "Single-shift") if name == "resnet18" else (
            "Floating-point", "Double-shift")
        for mode in modes:
            q, _ = quantize_graph(graph, calib, {"nbbits": 8, "act-rescaling-mode": mode})
            out.append((f"{name}/int8-{mode}", q, {"input": x}))
    # Transposed convolutions and resizes (float and integer).
    segmentation = n2d2c.load(FIXTURES / "segmentation_net.onnx",
                              input_shapes={"image": (batch, 3, 32, 32)})
    q, _ = quantize_graph(segmentation, calib, {"nbbits": 8})
    for tag, graph in (("f32", segmentation), ("int8", q)):
        out.append((f"segmentation/{tag}", graph, {"image": x}))
    return out
