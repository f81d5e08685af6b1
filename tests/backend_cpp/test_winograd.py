"""Winograd F(2,3)/F(4,3) convolutions of the C++ target (backends/cpp/winograd.py) against
onnxruntime over the op-variant set, in -O2 builds for the native ISA and for AVX2
(-march=haswell, where the CPU has it), within a tolerance derived from the error bound.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from backend_cpp.harness import cpu_has, finish_model, merge_graphs, rand, require_compiler, run_ort
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.cpp import winograd
from n2d2c.errors import UsageError
from n2d2c.frontend.onnx import load_onnx

U = 2.0 ** -24


def _conv_model(name, n, c, m, hw, pads, act=None, concat=False):
    h, w = hw
    x = rand(n, c, h, w, name=name + "x")
    inits = [numpy_helper.from_array(rand(m, c, 3, 3, name=name + "w"), "w"),
             numpy_helper.from_array(rand(m, name=name + "b"), "b")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=list(pads))]
    out = "y"
    if act == "relu":
        nodes.append(helper.make_node("Relu", ["y"], ["z"]))
        out = "z"
    elif act == "clip":
        inits += [numpy_helper.from_array(np.float32(0.0), "lo"),
                  numpy_helper.from_array(np.float32(3.0), "hi")]
        nodes.append(helper.make_node("Clip", ["y", "lo", "hi"], ["z"]))
        out = "z"
    elif act == "leaky":
        nodes.append(helper.make_node("LeakyRelu", ["y"], ["z"], alpha=0.1))
        out = "z"
    if concat:
        # Two Winograd convolutions written straight into the slices of a Concat buffer.
        inits.append(numpy_helper.from_array(rand(5, c, 3, 3, name=name + "w2"), "w2"))
        nodes += [helper.make_node("Conv", ["x", "w2"], ["y2"], pads=list(pads)),
                  helper.make_node("Concat", [out, "y2"], ["cat"], axis=1)]
        out = "cat"
    model = finish_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                         [out], inits, name)
    return name, model, x


CASES = [
    _conv_model("c3_pad1", 1, 3, 16, (5, 5), (1, 1, 1, 1)),
    _conv_model("c17_m33_asym_relu", 1, 17, 33, (9, 7), (1, 2, 0, 1), "relu"),
    _conv_model("c33_m20_nopad_clip", 1, 33, 20, (6, 6), (0, 0, 0, 0), "clip"),
    _conv_model("img1x1_pad1", 1, 16, 17, (1, 1), (1, 1, 1, 1)),
    _conv_model("img2x2_pad1_leaky", 1, 8, 16, (2, 2), (1, 1, 1, 1), "leaky"),
    _conv_model("img3x3_nopad", 1, 8, 16, (3, 3), (0, 0, 0, 0)),
    _conv_model("img3x3_pad2", 1, 9, 24, (3, 3), (2, 2, 2, 2)),
    _conv_model("batch2_c17", 2, 17, 16, (7, 7), (1, 1, 1, 1), "relu"),
    _conv_model("c64_m64_14x14", 1, 64, 64, (14, 14), (1, 1, 1, 1), "relu"),
    _conv_model("concat_slice", 1, 12, 19, (6, 5), (1, 1, 1, 1), "relu", concat=True),
]


def _abs_model(model):
    """The same model on |x| and |w| without bias and activation: sum |w||x| per output."""
    conv = next(nd for nd in model.graph.node if nd.op_type == "Conv")
    w = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "w"))
    node = helper.make_node("Conv", ["x", "w"], ["s"], pads=list(conv.attribute[0].ints))
    return finish_model([node], list(model.graph.input), ["s"],
                        [numpy_helper.from_array(np.abs(w), "w")], "abs")


def _tolerance(model, x, variant):
    """Per-element bound: (2 alpha + 2 sqrt(9C)) u sum|w||x| (Winograd's transforms plus
    the direct error of both sides), see winograd.py."""
    s = run_ort(_abs_model(model), {"x": np.abs(x)})[0]
    c = x.shape[1]
    bound = (2 * winograd.amplification(variant) + 2 * np.sqrt(9 * c)) * U * s
    if s.shape[1] != run_ort(model, {"x": x})[0].shape[1]:   # the concat case
        bound = np.concatenate([bound, np.full_like(bound[:, :5], np.inf)], axis=1)
    return bound


BUILDS = [("f23", "-O2 -march=native"), ("f43", "-O2 -march=native"),
          ("f23", "-O2 -march=haswell"), ("f43", "-O2 -march=haswell")]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    require_compiler()
    root = tmp_path_factory.mktemp("winograd")
    graph = merge_graphs([(f"c{i}", load_onnx(model)) for i, (_, model, _) in enumerate(CASES)])
    feeds = {f"c{i}.x": x for i, (_, _, x) in enumerate(CASES)}
    results = {}
    for variant, opt in BUILDS:
        if "haswell" in opt and not cpu_has("avx2"):
            continue
        out = root / f"{variant}_{opt.split('=')[-1]}"
        small_blocks = "haswell" in opt
        saved = winograd.BLOCK_FLOATS
        if small_blocks:
            # Several blocks of tiles per layer, the last one partial.
            winograd.BLOCK_FLOATS = 4096
        try:
            compile_to_dir(graph, out, stimuli=0, winograd=variant)
        finally:
            winograd.BLOCK_FLOATS = saved
        code = (out / "network.cpp").read_text()
        build(out, opt=opt)
        got = list(run_inputs(out, feeds).values())
        results[(variant, opt)] = (code, got)
    return results


@pytest.mark.parametrize("variant,opt", BUILDS)
@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_winograd_matches_onnxruntime(outputs, variant, opt, index):
    if (variant, opt) not in outputs:
        pytest.skip("this CPU has no AVX2")
    code, got = outputs[(variant, opt)]
    assert f"using F = n2d2c_wino_{variant};" in code
    name, model, x = CASES[index]
    ref = run_ort(model, {"x": x})[0]
    err = np.abs(got[index] - ref)
    bound = _tolerance(model, x, variant) + 1e-6
    assert err.shape == ref.shape
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert (err <= bound).all(), (f"{name} {variant} {opt}: error {err[worst]:.3g} over the "
                                  f"bound {bound[worst]:.3g} at {worst}")


def test_every_case_runs_as_winograd(outputs):
    code, _ = outputs[("f43", "-O2 -march=native")]
    assert len(re.findall(r"using F = n2d2c_wino_f43;", code)) == len(CASES) + 1


def test_transforms_compute_a_correlation():
    rng = np.random.default_rng(1)
    x, w = rng.uniform(-1, 1, (2, 3, 9, 6)), rng.uniform(-1, 1, (4, 3, 3, 3))
    ref = np.zeros((2, 4, 7, 4))
    for i in range(7):
        for j in range(4):
            ref[:, :, i, j] = np.einsum("nckl,mckl->nm", x[:, :, i:i + 3, j:j + 3], w)
    for variant in winograd.VARIANTS:
        got = winograd.reference(x, w, variant, dtype=np.float64)
        np.testing.assert_allclose(got, ref, atol=1e-5)


def test_modes_and_auto_choice():
    assert winograd.parse_modes("off,conv3:f43") == ("off", {"conv3": "f43"})
    with pytest.raises(UsageError):
        winograd.parse_modes("f63")

    class Call:   # the two views auto_variant reads
        def __init__(self, n, c, m, h, w):
            self.reads = {"x": type("V", (), {"shape": (n, c, h, w)})()}
            self.writes = {"y": type("V", (), {"shape": (n, m, h, w)})()}

    assert winograd.auto_variant(Call(1, 3, 64, 56, 56)) is None       # few channels
    assert winograd.auto_variant(Call(1, 512, 512, 1, 1)) is None      # a 1x1 image
    assert winograd.auto_variant(Call(1, 64, 64, 56, 56)) == "f43"


def _variants(out):
    code = (out / "network.cpp").read_text()
    return dict(re.findall(r"Compile-time shape of (\w+), Winograd (f\d3)", code))


def test_tune_file_chooses_per_layer_and_reproduces(tmp_path):
    graph = load_onnx(CASES[-1][1])   # two convolutions (Conv_0, Conv_1), direct by default
    assert _variants(compile_to_dir(graph, tmp_path / "auto", stimuli=0)) == {}
    tune = {"format": "n2d2c-tune/1", "vlen": 16, "machine": "test",
            "layers": {"Conv_0": {"kernel": "winograd", "variant": "f23"},
                       "Conv_1": {"kernel": "winograd", "variant": "f43"}}}
    first = compile_to_dir(graph, tmp_path / "tuned", stimuli=0, tune=tune)
    assert _variants(first) == {"Conv_0": "f23", "Conv_1": "f43"}
    again = compile_to_dir(graph, tmp_path / "again", stimuli=0, tune=str(first / "tune.json"))
    assert (again / "network.cpp").read_bytes() == (first / "network.cpp").read_bytes()
    # -X winograd entries override the tune file, a global mode other than auto too.
    out = compile_to_dir(graph, tmp_path / "named", stimuli=0, tune=tune,
                         winograd="auto,Conv_1:off")
    assert _variants(out) == {"Conv_0": "f23"}
    out = compile_to_dir(graph, tmp_path / "off", stimuli=0, tune=tune, winograd="off")
    assert _variants(out) == {}
