"""The C++ int8 transposed convolution whose kernel equals its stride: one 1x1 conv2d_i8 GEMM
over KH x KW x M channels whose store writes depth-to-space (backends/cpp/integer.py).  It
agrees bit for bit with the integer simulator (odd channel counts, counts not a multiple of
16, non-square kernels, uint8 input, 1x1 and tiny images, batch 2, with and without bias,
the accumulator observed or rescaled); overlapping or padded ones stay on the generic
kernel.  Built portably (-O2) and with -march=native."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.memory import plan_graph
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.passes.memory import MemoryOptions
from n2d2c.runtime import simulate

from .harness import merge_graphs, require_compiler, shared

# name -> (input shape, input dtype, out channels, kernel, strides, pads, bias, rescaled,
#          expected template)
SPECS = {
    "c5_m7_k2": ((1, 5, 6, 7), "i8", 7, (2, 2), (2, 2), (0, 0, 0, 0), True, False, "conv2d_i8"),
    "c16_m16_k2_u8": ((1, 16, 5, 4), "u8", 16, (2, 2), (2, 2), (0, 0, 0, 0), False, True,
                      "conv2d_i8"),
    "c3_m5_k2x3_b2": ((2, 3, 4, 3), "i8", 5, (2, 3), (2, 3), (0, 0, 0, 0), True, True,
                      "conv2d_i8"),
    "c33_m1_k2_1x1": ((1, 33, 1, 1), "u8", 1, (2, 2), (2, 2), (0, 0, 0, 0), True, False,
                      "conv2d_i8"),
    "c8_m3_k4_tiny": ((2, 8, 2, 1), "i8", 3, (4, 4), (4, 4), (0, 0, 0, 0), True, True,
                      "conv2d_i8"),
    # Overlapping taps, or padding: the generic gather kernel.
    "c5_m7_k3_s2": ((1, 5, 4, 4), "i8", 7, (3, 3), (2, 2), (0, 0, 0, 0), True, False,
                    "conv_transpose2d"),
    "c5_m7_k2_pad": ((1, 5, 4, 4), "i8", 7, (2, 2), (2, 2), (0, 1, 0, 1), True, False,
                     "conv_transpose2d"),
}


def _case(name):
    shape, dtype, m, kernel, strides, pads, bias, rescaled, _ = SPECS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    g = Graph(name)
    x = g.add_input("x", TensorType(shape))
    q = g.add(ops.Quantize(name="q", scale=0.03, dtype=dtype), [x]).output
    w = g.constant(rng.integers(-128, 128, (shape[1], m, *kernel)).astype(np.int8), "w")
    inputs = [q, w]
    if bias:
        inputs.append(g.constant(rng.integers(-3000, 3000, m).astype(np.int32), "b"))
    acc = g.add(ops.ConvTranspose2d(name="convt", strides=strides, pads=pads), inputs).output
    if rescaled:
        r = g.add(ops.Rescale(name="rs", mode="single-shift", shifts=(9,), dtype="i8"),
                  [acc]).output
        g.outputs = [g.add(ops.Dequantize(name="out", scale=0.25), [r]).output]
    else:   # the int32 accumulators themselves (a scale of 1 is exact)
        g.outputs = [g.add(ops.Dequantize(name="out", scale=1.0), [acc]).output]
    lo, hi = (-4.0, 8.0) if dtype == "u8" else (-4.0, 4.0)
    return g, {"x": rng.uniform(lo, hi, shape).astype(np.float32)}


CASES = {name: _case(name) for name in SPECS}


def _templates(graph) -> set[str]:
    memory = plan_graph(graph, MemoryOptions())
    return {template for _, items in memory.emitter.prepared for template, _ in items}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_transposed_convolutions_without_overlap_become_an_int8_gemm(name):
    templates = _templates(CASES[name][0])
    expected = SPECS[name][-1]
    assert expected in templates
    assert not templates & ({"conv2d_i8", "conv_transpose2d"} - {expected})


def _build(root, opt: str):
    names = sorted(CASES)
    graphs = [(f"k{i}", CASES[name][0]) for i, name in enumerate(names)]
    out = compile_to_dir(merge_graphs(graphs, "convt"), root / "convt", stimuli=0)
    build(out, opt=opt)
    feeds = {f"{prefix}.{k}": v for (prefix, _), name in zip(graphs, names)
             for k, v in CASES[name][1].items()}
    results = list(run_inputs(out, feeds).values())
    return {name: [results[i]] for i, name in enumerate(names)}


BUILDS = {"portable": "-O2", "native": "-O3 -march=native"}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def outputs(request, tmp_path_factory):
    require_compiler()
    return shared(tmp_path_factory, f"convt_i8_{request.param}",
                  lambda root: _build(root, BUILDS[request.param]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_int8_transposed_convolutions_match_the_simulator_bit_for_bit(outputs, name):
    graph, feeds = CASES[name]
    reference = simulate(graph, feeds)
    (got,) = outputs[name]
    np.testing.assert_array_equal(got, np.asarray(reference[graph.outputs[0].name], np.float32),
                                  err_msg=name)
