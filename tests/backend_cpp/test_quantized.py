"""The quantized integer IR (quantize, rescale, integer layers, dequantize) in generated C++.

The reference is the integer simulator (n2d2c.runtime), which implements the exact
arithmetic of ir/ops/quant.py: the generated code must agree bit for bit.  Integer
tensors are made observable by extra ``dequantize {scale = 1}`` outputs, which are
exact conversions, so every comparison below is an equality.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import Graph, TensorType, ops
from n2d2c import quantization
from n2d2c.runtime import simulate

from .harness import merge_graphs, require_compiler, shared



def observe_integers(graph: Graph) -> Graph:
    """Add a ``dequantize {scale = 1}`` output for every integer result (exact)."""
    extra = []
    for op in list(graph.ops):
        for v in op.outputs:
            if v.type.dtype.is_integer and not isinstance(op, ops.Constant):
                extra.append(graph.add(ops.Dequantize(name=f"{v.name}.observe", scale=1.0),
                                       [v]).output)
    graph.outputs = list(graph.outputs) + extra
    return graph


@dataclasses.dataclass
class QCase:
    name: str
    graph: Graph
    feeds: dict


def _quantized_model(name, model, size, mode, seed):
    graph = load_onnx(model)
    rng = np.random.default_rng(seed)
    calib = rng.uniform(-1, 1, (4, *size)).astype(np.float32)
    qgraph, _ = quantization.quantize_graph(graph, calib, {"nbbits": 8,
                                                           "act-rescaling-mode": mode})
    x = rng.uniform(-1, 1, (1, *size)).astype(np.float32)
    return QCase(name, observe_integers(qgraph), {"input": x})


def _unit_cases() -> list[QCase]:
    cases = []
    rng = np.random.default_rng(0)

    def case(name, shape, build_fn, scale=0.05):
        g = Graph(name)
        x = g.add_input("x", TensorType(shape))
        q = g.add(ops.Quantize(name="q", scale=scale, dtype="i8"), [x]).output
        result = build_fn(g, q)
        g.outputs = [g.add(ops.Dequantize(name="out", scale=0.5, zero_point=1), [result]).output]
        feeds = {"x": rng.uniform(-6, 6, shape).astype(np.float32)}
        cases.append(QCase(name, observe_integers(g), feeds))

    def conv(g, q, m, c, k, group=1, pads=(1, 1, 1, 1), strides=(1, 1), wdtype=np.int8):
        w = g.constant(rng.integers(-127, 128, (m, c // group, k, k)).astype(wdtype), "w")
        acc = np.int32 if wdtype == np.int8 else np.int64
        b = g.constant(rng.integers(-500, 500, m).astype(acc), "b")
        return g.add(ops.Conv2d(name="conv", pads=pads, strides=strides, group=group),
                     [q, w, b]).output

    case("conv_i8", (1, 4, 7, 7), lambda g, q: conv(g, q, 8, 4, 3))
    case("conv_depthwise_i8", (1, 6, 7, 7), lambda g, q: conv(g, q, 6, 6, 3, group=6,
                                                              strides=(2, 2)))
    case("conv_group_i8", (1, 4, 5, 5), lambda g, q: conv(g, q, 6, 4, 3, group=2, pads=(0, 1, 2, 0)))
    case("conv_i16_weights", (1, 3, 5, 5), lambda g, q: conv(g, q, 5, 3, 3, wdtype=np.int16))

    def gemm(g, q):
        flat = g.add(ops.Reshape(name="flat", shape=(1, 48)), [q]).output
        w = g.constant(rng.integers(-127, 128, (10, 48)).astype(np.int8), "w")
        b = g.constant(rng.integers(-900, 900, 10).astype(np.int32), "b")
        return g.add(ops.Gemm(name="gemm", trans_b=True), [flat, w, b]).output
    case("gemm_i8", (1, 3, 4, 4), gemm)

    def matmul(g, q):
        w = g.constant(rng.integers(-127, 128, (4, 3)).astype(np.int8), "w")
        return g.add(ops.MatMul(name="mm"), [q, w]).output
    case("matmul_i8_batched", (2, 3, 5, 4), matmul)

    def pools(g, q):
        a = g.add(ops.AvgPool2d(name="avg", kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1)),
                  [q]).output
        b = g.add(ops.AvgPool2d(name="avgpad", kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1),
                                count_include_pad=True, ceil_mode=True), [q]).output
        m = g.add(ops.MaxPool2d(name="max", kernel=(2, 2), strides=(2, 2), ceil_mode=True),
                  [q]).output
        ga = g.add(ops.GlobalAvgPool(name="gavg"), [q]).output
        gm = g.add(ops.GlobalMaxPool(name="gmax"), [q]).output
        for v in (b, m, ga, gm):
            g.outputs.append(v)
        return a
    case("pools_i8", (1, 5, 7, 7), pools)

    def elementwise(g, q):
        r = g.add(ops.Relu(name="relu"), [q]).output
        c = g.add(ops.Clip(name="clip", min=-3.5, max=100.2), [q]).output
        mx = g.add(ops.Max(name="max"), [r, c]).output
        mn = g.add(ops.Min(name="min"), [mx, q]).output
        bias = g.constant(rng.integers(-100, 100, (3, 1, 1)).astype(np.int8), "bias")
        return g.add(ops.Add(name="add"), [mn, bias]).output
    case("elementwise_i8", (1, 3, 4, 5), elementwise)

    def moves(g, q):
        t = g.add(ops.Transpose(name="t", perm=(0, 2, 3, 1)), [q]).output
        s = g.add(ops.Slice(name="s", axes=(1,), starts=(1,), ends=(4,), steps=(2,)), [t]).output
        p = g.add(ops.Pad(name="p", pads=(0, 1, 0, 1, 0, 0, 2, 0), value=5.0), [s]).output
        return g.add(ops.Concat(name="cat", axis=1), [p, p]).output
    case("moves_i8", (1, 3, 4, 5), moves)

    def rescales(g, q):
        acc = conv(g, q, 4, 2, 3)
        outs = [
            ops.Rescale(name="fp", mode="floating-point", scales=(0.01, 0.02, 0.005, 0.03),
                        zero_point=3, dtype="i8"),
            ops.Rescale(name="fx16", mode="fixed-point16", multipliers=(20000,), shifts=(21,),
                        dtype="u8", out_min=(0,), out_max=(200,)),
            ops.Rescale(name="fx32", mode="fixed-point32", multipliers=(1 << 30, 3 << 28, 5, 7),
                        shifts=(40, 40, 0, 3), dtype="i16"),
            ops.Rescale(name="single", mode="single-shift", shifts=(7, 0, 9, 8),
                        out_min=(-10, -128, 0, -5), out_max=(10, 127, 50, 90)),
            ops.Rescale(name="double", mode="double-shift", shifts=(9,), left_shifts=(2,),
                        input_zero_point=-17),
        ]
        results = [g.add(op, [acc]).output for op in outs]
        g.outputs.extend(results[1:])
        return results[0]
    case("rescale_modes", (1, 2, 5, 5), rescales, scale=0.02)

    def lookup(g, q):
        table = g.constant(rng.integers(-128, 128, 256).astype(np.int8), "table")
        return g.add(ops.Lookup(name="lut", function="test"), [q, table]).output
    case("lookup_i8", (1, 3, 4, 5), lookup)

    def softmax(g, q):
        # Along a middle axis into u8 levels, along the last into float32 (also an output).
        table = g.constant(ops.softmax_table(0.05), "table")
        probs = g.add(ops.IntSoftmax(name="softmax", axis=1, dtype="u8", levels=255),
                      [q, table]).output
        g.outputs.append(g.add(ops.IntSoftmax(name="softmax_f32", axis=-1), [q, table]).output)
        return probs
    case("int_softmax_i8", (2, 7, 3, 5), softmax)

    def mul_sub(g, q):
        # A squeeze-excite gate [1, C, 1, 1] times the map, and a difference, into i32.
        gate = g.add(ops.GlobalMaxPool(name="gate"), [q]).output
        prod = g.add(ops.Mul(name="mul"), [q, gate]).output
        diff = g.add(ops.Sub(name="sub"), [gate, q]).output
        g.outputs.append(diff)
        return prod
    case("mul_sub_broadcast_i8", (1, 3, 4, 5), mul_sub)

    def conv_transpose(g, q):
        w = g.constant(rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8), "w")
        b = g.constant(rng.integers(-500, 500, 6).astype(np.int32), "b")
        return g.add(ops.ConvTranspose2d(name="deconv", strides=(2, 2), pads=(1, 0, 0, 1),
                                         group=2), [q, w, b]).output
    case("conv_transpose_i8", (1, 4, 4, 5), conv_transpose)

    def resizes(g, q):
        near = g.add(ops.Resize(name="near", sizes=(1, 3, 8, 15), scales=(1, 1, 2, 3),
                                coordinate_transformation_mode="asymmetric",
                                nearest_mode="floor"), [q]).output
        g.outputs.append(near)
        lin = g.add(ops.Resize(name="lin", sizes=(1, 3, 7, 10), scales=(1, 1, 1.75, 2),
                               mode="linear"), [q]).output
        return g.add(ops.Rescale(name="lin.rescale", mode="single-shift", shifts=(14,)),
                     [lin]).output
    case("resize_i8", (1, 3, 4, 5), resizes)

    def quantize_edges(g, q):
        return q
    case("quantize_saturation", (1, 2, 3, 4), quantize_edges, scale=0.01)
    cases[-1].feeds["x"].flat[:4] = [np.nan, np.inf, -np.inf, 0.005]
    return cases


def _cases() -> list[QCase]:
    cases = _unit_cases()
    for i, mode in enumerate(("Single-shift", "Double-shift", "Fixed-point16", "Fixed-point32",
                              "Floating-point")):
        cases.append(_quantized_model(f"lenet_{mode.lower()}", zoo.lenet(seed=i), (1, 28, 28),
                                      mode, i))
    cases.append(_quantized_model("resnet_int", zoo.resnet18(size=16, width=8, classes=10, seed=1),
                                  (3, 16, 16), "Single-shift", 7))
    cases.append(_quantized_model("mobilenet_int", zoo.mobilenet_v2(size=32, width=0.35,
                                                                    classes=10, seed=2),
                                  (3, 32, 32), "Fixed-point32", 8))
    cases.append(_quantized_model("mobilenet_v3_int", zoo.mobilenet_v3_like(size=32, seed=4),
                                  (3, 32, 32), "Single-shift", 10))
    cases.append(_quantized_model("dbnet_int", zoo.dbnet_like(size=32, seed=5, inner=16),
                                  (3, 32, 32), "Fixed-point16", 11))
    cases.append(_quantized_model("inception_int", zoo.inception_like(size=16, classes=10, seed=3),
                                  (3, 16, 16), "Double-shift", 9))
    return cases


CASES = _cases()


def build_cases(root, target: str = "cpp") -> dict[str, list[np.ndarray]]:
    """Every case in one network compiled for ``target``, built and run: case -> outputs."""
    graphs = [(f"q{i}", c.graph) for i, c in enumerate(CASES)]
    merged = merge_graphs(graphs, "quantized")
    out = compile_to_dir(merged, root / "quantized", target=target, stimuli=0)
    build(out, opt="-O1")
    feeds = {f"{prefix}.{name}": value for (prefix, _), c in zip(graphs, CASES)
             for name, value in c.feeds.items()}
    results = list(run_inputs(out, feeds).values())
    by_case, k = {}, 0
    for (prefix, g), c in zip(graphs, CASES):
        by_case[c.name] = results[k:k + len(g.outputs)]
        k += len(g.outputs)
    return by_case


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    require_compiler()
    return shared(tmp_path_factory, "quantized", build_cases)


def assert_matches_simulator(case: QCase, got: list[np.ndarray]) -> None:
    """Integer results (observed through ``dequantize {scale = 1}``) equal the integer
    simulator's bit for bit; float results after a dequantize within float rounding."""
    reference = simulate(case.graph, case.feeds)
    assert len(got) == len(case.graph.outputs)
    for value, array in zip(case.graph.outputs, got):
        ref = np.asarray(reference[value.name], np.float32)
        if value.producer is not None and value.producer.name.endswith(".observe"):
            np.testing.assert_array_equal(array, ref, err_msg=f"{case.name}: %{value.name}")
        else:   # float results after dequantize (softmax may round differently)
            np.testing.assert_allclose(array, ref, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case.name}: %{value.name}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_integer_code_matches_simulator_bit_for_bit(outputs, case):
    assert_matches_simulator(case, outputs[case.name])


def test_integer_graph_uses_a_byte_arena(tmp_path):
    case = CASES[0]
    out = compile_to_dir(case.graph, tmp_path / "q", stimuli=0)
    code = (out / "network.cpp").read_text()
    assert "static unsigned char arena[" in code
    assert "-fno-strict-aliasing" in (out / "Makefile").read_text()


def test_cases_cover_every_op():
    """Every registered op is exercised by a float case of test_ops.py or of an op family's
    test_<family>_ops.py (their ``ALL``), or by this file (integer)."""
    import importlib
    from pathlib import Path

    from n2d2c.ir.ops import OPS

    from .harness import import_case
    float_cases = []
    for path in sorted(Path(__file__).parent.glob("test_*ops.py")):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        float_cases += [c[-1] if isinstance(c, tuple) else c for c in module.ALL]
    seen = {type(op) for case in float_cases for op in import_case(case).ops}
    seen |= {type(op) for case in CASES for op in case.graph.ops}
    from .refused_ops import REFUSED
    missing = sorted(cls.OP_NAME for cls in OPS.values()
                     if cls not in seen and cls.OP_NAME not in REFUSED)
    assert not missing, f"no test case exercises: {missing}"
