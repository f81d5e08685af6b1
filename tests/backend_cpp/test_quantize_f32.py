"""The C++ quantize of a contiguous float32 tensor (templates/cpp/quantize_f32.j2: 16 values
at a time by x * (1 / scale), a block falling back to the generic x / scale when a value lies
near a half-integer, is large, infinite or NaN) agrees bit for bit with the integer simulator:
exact ties (scale 0.25), values one float step either side of ties at scales whose inverse is
not exact (0.1, and 0.07 where the product alone would round some ties the other way), NaN, infinities, values that saturate, zero points, int8 / uint8 / int16, and
tensors whose size is no multiple of 16.  Built portably (-O2) and with -march=native."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.memory import plan_graph
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.passes.memory import MemoryOptions
from n2d2c.runtime import simulate

from .harness import require_compiler, shared

# name -> (shape, scale, zero point, dtype)
SPECS = {
    "i8_ties": ((1, 3, 7, 5), 0.25, 0, "i8"),
    "u8_tenth_zp": ((1, 2, 9, 9), 0.1, 17, "u8"),
    "i16_small": ((1, 1, 3, 11), 0.003, -5, "i16"),
    # x * fl(1 / 0.07) and x / 0.07 round differently on about 1 in 40 of its ties.
    "i8_seven_hundredths": ((1, 4, 10, 10), 0.07, 3, "i8"),
}


def _inputs(name: str, shape, scale: float) -> np.ndarray:
    """Half-integer multiples of the scale and their float neighbours, ordinary values, and
    a few special ones, shuffled so that they fall in every block."""
    rng = np.random.default_rng(sum(map(ord, name)))
    size = int(np.prod(shape))
    ties = ((rng.integers(-120, 120, size) + 0.5) * scale).astype(np.float32)
    step = rng.integers(-1, 2, size)
    near = np.nextafter(ties, np.where(step > 0, np.inf, -np.inf).astype(np.float32))
    near = np.where(step == 0, ties, near).astype(np.float32)
    x = np.where(rng.random(size) < 0.3, rng.uniform(-40, 40, size).astype(np.float32), near)
    special = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0], np.float32)
    x[rng.choice(size, len(special), replace=False)] = special
    return x.reshape(shape).astype(np.float32)


def _graph(name: str) -> Graph:
    shape, scale, zero_point, dtype = SPECS[name]
    g = Graph(name)
    x = g.add_input("x", TensorType(shape))
    q = g.add(ops.Quantize(name="q", scale=scale, zero_point=zero_point, dtype=dtype), [x]).output
    g.outputs = [g.add(ops.Dequantize(name="out", scale=1.0), [q]).output]
    return g


def _templates(graph) -> set[str]:
    memory = plan_graph(graph, MemoryOptions())
    return {template for _, items in memory.emitter.prepared for template, _ in items}


BUILDS = {"portable": "-O2", "native": "-O3 -march=native"}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def outputs(request, tmp_path_factory):
    require_compiler()

    def run_all(root):
        got = {}
        for name in SPECS:
            out = compile_to_dir(_graph(name), root / name, stimuli=0)
            build(out, opt=BUILDS[request.param])
            feeds = {"x": _inputs(name, SPECS[name][0], SPECS[name][1])}
            got[name] = next(iter(run_inputs(out, feeds).values()))
        return got

    return shared(tmp_path_factory, f"quantize_f32_{request.param}", run_all)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_quantize_is_routed_to_the_block_kernel(name):
    assert "quantize_f32" in _templates(_graph(name))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_quantize_matches_the_simulator_bit_for_bit(outputs, name):
    shape, scale, _, _ = SPECS[name]
    x = _inputs(name, shape, scale)
    reference = next(iter(simulate(_graph(name), {"x": x}).values()))
    np.testing.assert_array_equal(outputs[name], np.asarray(reference, np.float32))
