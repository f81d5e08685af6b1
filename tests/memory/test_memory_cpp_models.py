"""The C++ model set runs in its planned arena and still matches onnxruntime, with the
arena filled with garbage (0xCD bytes, then NaN bytes) before every run.

Each model uses different memory options; together they use every kind of sharing
the planner offers (wrapping in each wrap-capable kernel, in-place element-wise
ops, in-place concatenation) and an input kept out of the arena.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from cpp_memory_kit import (POISONS, ort_outputs, random_feeds, realised, require_compiler,
                            run_poisoned, shared_build)
from n2d2c.backends.c.memory import plan_graph
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.passes.memory import MemoryOptions

MODELS = {  # name -> (onnx model, memory options)
    "lenet": (zoo.lenet(seed=1), MemoryOptions()),
    "lenet_external_input": (zoo.lenet(seed=2), MemoryOptions(
        IncludeInputInBuffer=False, MemoryAlignment=64, MemoryManagerStrategy="best")),
    "resnet": (zoo.resnet18(size=32, width=16, classes=10, seed=2),
               MemoryOptions(MemoryManagerStrategy="exact", exact_time_limit=5.0)),
    "mobilenet_v2": (zoo.mobilenet_v2(size=64, width=0.5, classes=10, seed=3),
                     MemoryOptions(MemoryManagerStrategy="best", MemoryAlignment=16)),
    "inception_like": (zoo.inception_like(size=32, classes=10, seed=5),
                       MemoryOptions(MemoryManagerStrategy="exact", exact_time_limit=5.0)),
}
GRAPHS = {name: load_onnx(model) for name, (model, _) in MODELS.items()}


def _int8(model, shape, seed: int):
    from n2d2c.quantization import quantize_graph
    graph = load_onnx(model)
    calib = np.random.default_rng(seed).standard_normal((4, *shape)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qgraph, _ = quantize_graph(graph, calib, {"nbbits": 8, "sqnr_samples": 0})
    return qgraph


def _int8_lenet():
    return _int8(zoo.lenet(seed=4), (1, 1, 28, 28), 1)


def _int8_mobilenet():
    """int8 MobileNetV2: the C++ integer convolutions (padded 3x3 of a signed input, 1x1,
    depthwise) read padding implicitly and wrap their outputs over their inputs."""
    return _int8(zoo.mobilenet_v2(size=64, width=0.5, classes=10, seed=6), (1, 3, 64, 64), 3)


def _int8_grouped():
    """A LeNet-like int8 network whose second convolution is grouped (group 2, not
    depthwise): it stays on the generic integer convolution, which may wrap."""
    from n2d2c.examples.onnx_builder import OnnxBuilder
    from n2d2c.quantization import quantize_graph
    b = OnnxBuilder("grouped", (1, 1, 28, 28), seed=4)
    x = b.maxpool(b.relu(b.conv(b.input, 6, 5, pad=0)), 2, 2)
    x = b.maxpool(b.relu(b.conv(x, 16, 5, pad=0, group=2)), 2, 2)
    x = b.fc(b.flatten(b.global_avgpool(x)), 10)
    graph = load_onnx(b.model(x))
    calib = np.random.default_rng(2).standard_normal((4, 1, 1, 28, 28)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qgraph, _ = quantize_graph(graph, calib, {"nbbits": 8, "sqnr_samples": 0})
    return qgraph


INT8 = _int8_lenet()
INT8_GROUPED = _int8_grouped()
INT8_MODELS = {"lenet_int8": INT8, "grouped_int8": INT8_GROUPED,
               "mobilenet_v2_int8": _int8_mobilenet()}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    require_compiler()
    jobs = {name: (GRAPHS[name], {"memory": options}) for name, (_, options) in MODELS.items()}
    for name, graph in INT8_MODELS.items():
        jobs[name] = (graph, {"memory": MemoryOptions()})
    return shared_build(tmp_path_factory, "models", jobs)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_matches_onnxruntime_with_garbage_in_the_arena(builds, name):
    model, _ = MODELS[name]
    feeds = random_feeds(GRAPHS[name], seed=7)
    ref = ort_outputs(model, feeds)
    for poison in (None, *POISONS):
        got = run_poisoned(builds[name], feeds, poison)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}, arena filled with {poison}")


@pytest.mark.parametrize("name", sorted(INT8_MODELS))
def test_int8_program_is_bit_exact_with_garbage_in_the_arena(builds, name):
    from n2d2c.runtime import simulate
    graph = INT8_MODELS[name]
    feeds = random_feeds(graph, seed=8)
    ref = simulate(graph, feeds)
    for poison in (None, *POISONS):
        got = run_poisoned(builds[name], feeds, poison)
        np.testing.assert_allclose(got[0], ref[graph.outputs[0].name], rtol=0, atol=1e-6,
                                   err_msg=f"{name}, arena filled with {poison}")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_arena_is_exactly_the_plan(builds, name):
    _, options = MODELS[name]
    plan = plan_graph(GRAPHS[name], options).plan
    out = builds[name]
    code = (out / "network.cpp").read_text()
    header = (out / "network.hpp").read_text()
    assert f"constexpr long ARENA_BYTES = {plan.arena_size};" in header
    (elements,) = re.findall(r"static float arena\[(\d+)\];", code)
    assert int(elements) * 4 == plan.arena_size
    # the only other static buffers are inputs kept out of the arena
    statics = re.findall(r"static (?:float|unsigned char) (\w+)\[", code)
    external = [s for s in statics if s != "arena"]
    if options.IncludeInputInBuffer:
        assert external == []
    else:
        assert external == ["ext_input"]
        assert f"EXTERNAL_BYTES = {4 * 28 * 28};" in header
    log = (out / "memory_mapping.log").read_text()
    assert f"arena:        {plan.arena_size:>12,} bytes" in log
    assert (out / "memory_mapping.png").read_bytes()[:4] == b"\x89PNG"


def test_every_kind_of_sharing_is_exercised():
    used: dict[str, set[str]] = {}
    for name, (_, options) in MODELS.items():
        for kind, kernels in realised(GRAPHS[name], options).items():
            used.setdefault(kind, set()).update(kernels)
    for graph in INT8_MODELS.values():
        for kind, kernels in realised(graph, MemoryOptions()).items():
            used.setdefault(kind, set()).update(kernels)
    # wrapping, in each kernel that may wrap: the C++ depthwise and direct convolutions (and
    # the padded copy of the latter), their integer counterparts (which read padding
    # implicitly: no copy), the generic convolution (the grouped int8 one) and pooling
    assert {"depthwise_conv2d", "conv2d_direct", "conv2d_direct:copy", "depthwise_int",
            "conv2d_i8", "pool2d", "conv2d"} <= used["wrap"]
    assert used["inplace"] == {"map"}  # residual additions
    assert "conv2d_i8:copy" not in set().union(*used.values())
    # in-place concatenation: the inception branches write into their concat's buffer
    code = (plan_graph(GRAPHS["inception_like"], MODELS["inception_like"][1])
            .emitter.program.layers)
    assert sum("4 of 4 inputs written in place" in layer.comment for layer in code) == 2
