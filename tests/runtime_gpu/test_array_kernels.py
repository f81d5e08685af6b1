"""The GPU simulator's kernels (n2d2c/runtime/gpu), run on numpy (device "array"),
against the CPU simulator: integer results bit-exact, float within float32 rounding.
The same code runs on cupy with --device gpu (test_gpu_device.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from n2d2c.passes import Pipeline
from n2d2c.runtime import Simulator

from .cases import op_cases, zoo_graphs

OPS = op_cases()
ZOO = zoo_graphs()


def assert_same(got: dict, want: dict, name: str) -> None:
    for key, ref in want.items():
        out = got[key]
        assert out.dtype == ref.dtype and out.shape == ref.shape, (name, key)
        if ref.dtype.kind in "iub":
            np.testing.assert_array_equal(out, ref, err_msg=name)
        else:
            np.testing.assert_allclose(out, ref, rtol=2e-5, atol=2e-5, err_msg=name)


def test_most_op_cases_have_array_kernels():
    assert len(OPS) >= 200, len(OPS)


@pytest.mark.parametrize("name,graph,feeds", OPS, ids=[c[0] for c in OPS])
def test_op_case(name, graph, feeds):
    assert_same(Simulator(graph, device="array").run(feeds), Simulator(graph).run(feeds), name)


@pytest.mark.parametrize("name,graph,feeds", ZOO, ids=[c[0] for c in ZOO])
def test_zoo_network(name, graph, feeds):
    assert_same(Simulator(graph, device="array").run(feeds), Simulator(graph).run(feeds), name)


def test_batched_network_equals_samples_one_by_one():
    name, graph, _ = ZOO[1]  # resnet18, int8 Fixed-point16
    x = np.random.default_rng(3).standard_normal((5, 3, 32, 32)).astype(np.float32)
    single = Simulator(graph)
    want = np.concatenate([single.run({"input": x[i:i + 1]})["output"] for i in range(5)])
    batched = graph.copy()
    Pipeline.parse("set-batch{size=5}").run(batched)
    assert batched.inputs[0].type.shape == (5, 3, 32, 32)
    np.testing.assert_array_equal(Simulator(batched, device="array").run({"input": x})["output"],
                                  want)


def test_importing_n2d2c_never_imports_cupy():
    code = ("import sys, n2d2c, n2d2c.runtime, n2d2c.cli; "
            "from n2d2c.runtime import Simulator; "
            "print(any(m.split('.')[0] == 'cupy' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_integer_transposed_convolution_is_exact():
    from n2d2c.ir import parse_graph
    graph = parse_graph("""
graph @g(%x: tensor<2x4x5x5xi8>, %w: tensor<4x3x3x3xi8>, %b: tensor<6xi32>) {
  %y = conv_transpose2d(%x, %w, %b) {strides = [2, 2], pads = [1, 1, 0, 1], dilations = [1, 2], group = 2} : tensor<2x6x10x11xi32>
  return %y
}""")
    rng = np.random.default_rng(0)
    feeds = {"x": rng.integers(-128, 128, (2, 4, 5, 5)).astype(np.int8),
             "w": rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8),
             "b": rng.integers(-1000, 1000, 6).astype(np.int32)}
    assert_same(Simulator(graph, device="array").run(feeds), Simulator(graph).run(feeds), "qdeconv")
