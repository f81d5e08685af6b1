"""The C++ integer convolution kernels (conv2d_i8, depthwise_int): integer Conv2d layers
with constant int8 weights are routed to them, and they agree bit for bit with the integer
simulator (odd channel counts, counts not a multiple of 16, uint8 input, padding, stride 2,
3-channel 7x7 first layers, chains whose outputs the plan wraps over their inputs); dilated
and grouped integer convolutions stay on the generic kernel.  ``*_fused`` cases do not
observe the accumulator, so the following rescale is fused into the kernel's epilogue (per
tensor and per channel, with ReLU bounds).  Everything is built twice: portably (-O2: the vector-extension dot product) and with -march=native
(AVX512-VNNI's vpdpbusd where the CPU has it)."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.memory import plan_graph
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.ir import Graph, TensorType, ops
from n2d2c.passes.memory import MemoryOptions
from n2d2c.runtime import simulate

from .harness import cpu_has, merge_graphs, require_compiler, shared


def observe_integers(graph: Graph, skip: tuple[str, ...] = ()) -> Graph:
    """Add a ``dequantize {scale = 1}`` output for every integer result (exact) but ``skip``."""
    for op in list(graph.ops):
        for v in op.outputs:
            if (v.type.dtype.is_integer and not isinstance(op, ops.Constant)
                    and op.name not in skip):
                graph.outputs = list(graph.outputs) + [
                    graph.add(ops.Dequantize(name=f"{v.name}.observe", scale=1.0), [v]).output]
    return graph

# name -> (input shape, input dtype, out channels, kernel, group, pads, strides, dilations,
#          bias, expected template)
SPECS = {
    "c3_m5_pad": ((1, 3, 9, 9), "i8", 5, 3, 1, (1, 1, 1, 1), (1, 1), (1, 1), True, "conv2d_i8"),
    "c7_m19_s2_u8": ((1, 7, 11, 10), "u8", 19, 3, 1, (1, 2, 0, 1), (2, 2), (1, 1), True,
                     "conv2d_i8"),
    "c17_m33_1x1": ((1, 17, 6, 5), "u8", 33, 1, 1, (0, 0, 0, 0), (1, 1), (1, 1), False,
                    "conv2d_i8"),
    "c5_m16_dil_s2": ((2, 5, 13, 13), "i8", 16, 3, 1, (2, 2, 2, 2), (2, 1), (2, 2), True,
                      "conv2d"),
    "dw_c13_s2_pad": ((1, 13, 9, 8), "i8", 13, 3, 13, (1, 1, 1, 1), (2, 2), (1, 1), True,
                      "depthwise_int"),
    "dw_c37_u8": ((1, 37, 7, 7), "u8", 37, 5, 37, (2, 1, 2, 3), (1, 1), (1, 1), False,
                  "depthwise_int"),
    "dw_c9_s2_nopad": ((2, 9, 10, 10), "u8", 9, 3, 9, (0, 0, 0, 0), (2, 2), (1, 1), True,
                       "depthwise_int"),
    # 16-channel blocks: full ones (48, dilated), a partial last one and two groups of 4 taps
    # per kernel row (20 channels, 7x7).
    "dw_c48_dil_i8": ((1, 48, 9, 9), "i8", 48, 3, 48, (2, 2, 2, 2), (1, 1), (2, 2), True,
                      "depthwise_int"),
    "dw_c20_7x7_s2": ((1, 20, 11, 12), "i8", 20, 7, 20, (3, 2, 3, 1), (2, 2), (1, 1), False,
                      "depthwise_int"),
    "grouped_c6_m9": ((1, 6, 7, 7), "i8", 9, 3, 3, (1, 1, 1, 1), (2, 2), (1, 1), True, "conv2d"),
    "c3_m80_7x7_s2": ((1, 3, 9, 20), "i8", 80, 7, 1, (3, 3, 3, 3), (2, 2), (1, 1), True,
                      "conv2d_i8"),
    "c3_m80_7x7_s2_fused": ((1, 3, 9, 20), "i8", 80, 7, 1, (3, 3, 3, 3), (2, 2), (1, 1), True,
                            "conv2d_i8"),
    "c24_m130_fused": ((1, 24, 7, 9), "u8", 130, 3, 1, (1, 1, 1, 1), (1, 1), (1, 1), False,
                       "conv2d_i8"),
    "dw_c37_u8_fused": ((1, 37, 7, 7), "u8", 37, 5, 37, (2, 1, 2, 3), (1, 1), (1, 1), True,
                        "depthwise_int"),
    "c5_m16_dil_fused": ((1, 5, 9, 9), "i8", 16, 3, 1, (2, 2, 2, 2), (1, 1), (2, 2), True,
                         "conv2d"),
}


def _rescale(name: str, m: int, rng) -> ops.Rescale:
    """Per-tensor single shift, or (``*_fused`` cases with bias) per-channel fixed point with
    a ReLU lower bound to uint8, so both epilogue shapes are exercised."""
    if name.endswith("_fused") and SPECS[name][-2]:
        return ops.Rescale(name="rs", mode="fixed-point16", dtype="u8",
                           multipliers=tuple(int(v) for v in rng.integers(1, 2000, m)),
                           shifts=tuple(int(v) for v in rng.integers(20, 24, m)),
                           out_min=(0,), out_max=(255,))
    return ops.Rescale(name="rs", mode="single-shift", shifts=(9,), dtype="i8")


def _case(name):
    shape, dtype, m, k, group, pads, strides, dil, bias, _ = SPECS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    g = Graph(name)
    x = g.add_input("x", TensorType(shape))
    q = g.add(ops.Quantize(name="q", scale=0.03, dtype=dtype), [x]).output
    c = shape[1]
    w = g.constant(rng.integers(-128, 128, (m, c // group, k, k)).astype(np.int8), "w")
    inputs = [q, w]
    if bias:
        inputs.append(g.constant(rng.integers(-3000, 3000, m).astype(np.int32), "b"))
    acc = g.add(ops.Conv2d(name="conv", pads=pads, strides=strides, dilations=dil,
                           group=group), inputs).output
    r = g.add(_rescale(name, m, rng), [acc]).output
    g.outputs = [g.add(ops.Dequantize(name="out", scale=0.25), [r]).output]
    lo, hi = (-4.0, 8.0) if dtype == "u8" else (-4.0, 4.0)
    skip = ("conv",) if name.endswith("_fused") else ()
    return observe_integers(g, skip), {"x": rng.uniform(lo, hi, shape).astype(np.float32)}


# Chains of integer convolutions whose intermediate results nobody observes, so that the
# plan lets each output wrap over its input (both kernels read the input in place, padding
# implicitly): name -> (input shape, input dtype, layers), a layer being (out channels,
# kernel, group, pads, strides, output dtype).  Rescales fuse into the kernels' epilogues.
CHAINS = {
    "chain_i8": ((1, 5, 12, 11), "i8", [
        (24, 3, 1, (1, 1, 1, 1), (1, 1), "u8"), (24, 3, 24, (1, 1, 1, 1), (2, 2), "u8"),
        (19, 1, 1, (0, 0, 0, 0), (1, 1), "i8"), (7, 3, 1, (1, 1, 1, 1), (1, 1), "i8"),
        (7, 5, 7, (2, 2, 2, 2), (1, 1), "i8"), (40, 1, 1, (0, 0, 0, 0), (1, 1), "u8")]),
    "chain_u8": ((1, 6, 9, 10), "u8", [
        (17, 1, 1, (0, 0, 0, 0), (1, 1), "u8"), (17, 3, 17, (0, 1, 2, 1), (1, 1), "i8"),
        (9, 3, 1, (2, 0, 1, 2), (2, 2), "u8"), (33, 7, 1, (3, 3, 3, 3), (1, 1), "i8")]),
    # Shifts of 24 and 25: the rescales do not fit int32 (requant32.py), so the epilogues
    # vectorise in int64 lanes; the last one per tensor.
    "chain_wide": ((1, 5, 9, 8), "u8", [
        (32, 1, 1, (0, 0, 0, 0), (1, 1), "i8"), (32, 3, 32, (1, 1, 1, 1), (1, 1), "u8"),
        (37, 3, 1, (1, 1, 1, 1), (2, 1), "i8"), (20, 1, 1, (0, 0, 0, 0), (1, 1), "u8")]),
}


def _chain(name):
    shape, dtype, layers = CHAINS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    g = Graph(name)
    x = g.add_input("x", TensorType(shape))
    v = g.add(ops.Quantize(name="q", scale=0.03, dtype=dtype), [x]).output
    c = shape[1]
    for i, (m, k, group, pads, strides, out) in enumerate(layers):
        w = g.constant(rng.integers(-128, 128, (m, c // group, k, k)).astype(np.int8), f"w{i}")
        b = g.constant(rng.integers(-3000, 3000, m).astype(np.int32), f"b{i}")
        acc = g.add(ops.Conv2d(name=f"conv{i}", pads=pads, strides=strides, dilations=(1, 1),
                               group=group), [v, w, b]).output
        lo, hi = (0, 255) if out == "u8" else (-128, 127)
        wide = name.endswith("_wide")
        per_tensor = wide and i == len(layers) - 1
        count = 1 if per_tensor else m
        mults = rng.integers(16000, 32767, count) if wide else rng.integers(1, 2000, count)
        shifts = rng.integers(24, 26, count) if wide else rng.integers(18, 21, count)
        v = g.add(ops.Rescale(name=f"rs{i}", mode="fixed-point16", dtype=out,
                              multipliers=tuple(int(a) for a in mults),
                              shifts=tuple(int(a) for a in shifts),
                              out_min=(lo,), out_max=(hi,)), [acc]).output
        c = m
    g.outputs = [g.add(ops.Dequantize(name="out", scale=0.25), [v]).output]
    lo, hi = (-4.0, 8.0) if dtype == "u8" else (-4.0, 4.0)
    return g, {"x": rng.uniform(lo, hi, shape).astype(np.float32)}


CASES = {**{name: _case(name) for name in SPECS}, **{name: _chain(name) for name in CHAINS}}


def _templates(graph):
    memory = plan_graph(graph, MemoryOptions())
    return {layer.name: template for layer, items in memory.emitter.prepared
            for template, _ in items}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_integer_convolutions_are_routed_to_the_integer_kernels(name):
    graph, _ = CASES[name]
    templates = set(_templates(graph).values())
    expected = SPECS[name][-1]
    assert expected in templates
    others = {"conv2d", "conv2d_i8", "depthwise_int"} - {expected}
    assert not templates & others


def _layer_comments(root) -> str:
    return (root / "network.cpp").read_text()


def _wrapping_templates(graph) -> tuple[set[str], list[str]]:
    """Templates of the kernels whose output the plan wraps over their input, and the
    scratch buffers the plan holds."""
    memory = plan_graph(graph, MemoryOptions())
    producer = {v.storage.name: template for layer, items in memory.emitter.prepared
                for call, (template, _) in zip(layer.calls, items) for v in call.writes.values()}
    wraps = {producer[s.buffer] for s in memory.plan.shared if s.kind == "wrap"}
    return wraps, [st.name for _, st in memory.emitter._scratch]


def _build(root, opt: str):
    names = sorted(CASES)
    graphs = [(f"k{i}", CASES[name][0]) for i, name in enumerate(names)]
    merged = merge_graphs(graphs, "intkernels")
    out = compile_to_dir(merged, root / "intkernels", stimuli=0)
    build(out, opt=opt)
    feeds = {f"{prefix}.{k}": v for (prefix, _), name in zip(graphs, names)
             for k, v in CASES[name][1].items()}
    results = list(run_inputs(out, feeds).values())
    by_case, i = {}, 0
    for (_, g), name in zip(graphs, names):
        by_case[name] = results[i:i + len(g.outputs)]
        i += len(g.outputs)
    by_case["__fused__"] = [np.array(_layer_comments(out).count("fused rescale"))]
    wraps, scratch = _wrapping_templates(merged)   # the plan of what was built
    by_case["__wraps__"] = [np.array(sorted(wraps), dtype=str)]
    by_case["__scratch__"] = [np.array(scratch, dtype=str)]
    return by_case


BUILDS = {"portable": "-O2", "native": "-O3 -march=native"}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def outputs(request, tmp_path_factory):
    require_compiler()
    opt = BUILDS[request.param]
    return shared(tmp_path_factory, f"intkernels_{request.param}",
                  lambda root: _build(root, opt))


def test_fused_cases_fuse_their_rescale(outputs):
    fused = [name for name in SPECS if name.endswith("_fused")]
    chained = sum(len(layers) for _, _, layers in CHAINS.values())
    assert int(outputs["__fused__"][0]) == len(fused) + chained


def test_integer_kernels_wrap_over_their_input_without_padded_copies(outputs):
    """In the built plan both integer kernels write over input rows they no longer need
    (the chains check the results) and no kernel holds a scratch copy of its input."""
    assert {"conv2d_i8", "depthwise_int"} <= set(outputs["__wraps__"][0].tolist())
    assert outputs["__scratch__"][0].tolist() == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_integer_kernels_match_the_simulator_bit_for_bit(outputs, name):
    graph, feeds = CASES[name]
    reference = simulate(graph, feeds)
    got = outputs[name]
    assert len(got) == len(graph.outputs)
    for value, array in zip(graph.outputs, got):
        np.testing.assert_array_equal(array, np.asarray(reference[value.name], np.float32),
                                      err_msg=f"{name}: %{value.name}")


def test_native_build_uses_vnni_when_the_cpu_has_it(tmp_path):
    """The -march=native build above ran vpdpbusd only if this CPU has AVX512-VNNI."""
    require_compiler()
    if not cpu_has("avx512_vnni"):
        pytest.skip("this CPU has no AVX512-VNNI: the native build ran the vector-extension "
                    "dot product (the portable build covers it as well)")
    import subprocess
    src = tmp_path / "probe.cpp"
    src.write_text("#include <stdint.h>\n#if !defined(__AVX512VNNI__)\n#error no VNNI\n#endif\n"
                   "int main() { return 0; }\n")
    proc = subprocess.run(["g++", "-march=native", "-c", str(src), "-o", str(tmp_path / "p.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
