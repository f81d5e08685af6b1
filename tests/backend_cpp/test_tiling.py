"""Register tilings of the direct convolution, per instruction set, and the tune file.

Every candidate tile of every vector width (``tuning.CANDIDATES``) runs the op-variant set
(strides, dilations, groups, asymmetric padding, odd channel counts, 1x1 and 7x7 kernels,
images smaller than a tile, batch 2, fused activations, a dense layer) in one network per
build, each copy of a case assigned its tile through a tune file, and is compared with
onnxruntime.  Three builds: portable (-O2, 4-float vectors), AVX2 (-march=haswell, 8) and
-march=native (AVX-512 where the CPU has it, 16); a build for an instruction set the CPU
lacks is compiled but not run (skipped with the reason).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from .harness import (C, X, Case, cpu_has, finish_model, import_case, merge_graphs, node_case,
                     rand, require_compiler, run_ort)
from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.backends.cpp.autotune import machine_vlen
from n2d2c.backends.cpp.tuning import CANDIDATES, TUNE_FORMAT, Tuning, parse_tiling
from n2d2c.errors import InputError, UsageError


def conv(name, x, w, b=None, **attrs) -> Case:
    inputs = [X(x), C(w)] + ([C(b)] if b is not None else [])
    return node_case(name, "Conv", inputs, **attrs)


def conv_relu(name: str, x, w, clip: bool = False, **attrs) -> Case:
    """Conv followed by Relu or Clip(0, 6): the activation is fused into the tile's epilogue."""
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(rand(w.shape[0], name=name), "b")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name=name, **attrs)]
    if clip:
        inits += [numpy_helper.from_array(np.float32(0.0), "lo"),
                  numpy_helper.from_array(np.float32(6.0), "hi")]
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name=name + "_clip"))
    else:
        nodes.append(helper.make_node("Relu", ["c"], ["y"], name=name + "_relu"))
    model = finish_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                         ["y"], inits, name)
    return Case(name, model, {"x": x})


def variants() -> list[Case]:
    r = rand
    return [
        conv("k3p1", r(1, 16, 9, 9), r(32, 16, 3, 3), r(32), pads=[1, 1, 1, 1]),
        conv("odd_channels", r(1, 17, 7, 6), r(33, 17, 3, 3), pads=[1, 0, 2, 1]),
        conv("stride2", r(1, 8, 11, 11), r(24, 8, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1]),
        conv("dilated", r(1, 6, 10, 10), r(20, 6, 3, 3), dilations=[2, 2], pads=[2, 2, 2, 2]),
        conv("grouped", r(1, 12, 6, 6), r(18, 6, 3, 3), group=2, pads=[1, 1, 1, 1]),
        conv("k1", r(1, 40, 5, 7), r(70, 40, 1, 1), r(70)),
        conv("k7s2", r(1, 3, 16, 16), r(16, 3, 7, 7), strides=[2, 2], pads=[3, 3, 3, 3]),
        conv("tiny_image", r(1, 64, 2, 2), r(96, 64, 3, 3), pads=[1, 1, 1, 1]),
        conv("one_pixel", r(1, 48, 1, 1), r(40, 48, 1, 1)),
        conv("batch2", r(2, 5, 6, 6), r(19, 5, 3, 3), pads=[1, 1, 1, 1]),
        conv_relu("fused_relu", r(1, 9, 8, 8), r(31, 9, 3, 3), pads=[1, 1, 1, 1]),
        conv_relu("fused_clip", r(1, 9, 8, 8), r(16, 9, 5, 5), clip=True, pads=[2, 2, 2, 2]),
        node_case("dense", "Gemm", [X(r(3, 50)), C(r(50, 37)), C(r(37))]),
    ]


BUILDS = {"portable": ("-O2", 4), "avx2": ("-O2 -march=haswell", 8),
          "native": ("-O2 -march=native", None)}


def cpu_runs(opt: str) -> str | None:
    """None if this CPU runs code built with ``opt``, else why not."""
    if "haswell" in opt:
        for flag in ("avx2", "fma", "bmi2"):
            if not cpu_has(flag):
                return f"this CPU has no {flag.upper()}: the -march=haswell build cannot run"
    return None


@pytest.mark.parametrize("build_name", list(BUILDS))
def test_every_tile_matches_onnxruntime(tmp_path, build_name):
    require_compiler()
    opt, vlen = BUILDS[build_name]
    vlen = vlen or machine_vlen("g++", opt)
    cases = variants()
    tiles = CANDIDATES[vlen]
    parts = [(f"t{t}c{i}", import_case(case)) for t in range(len(tiles))
             for i, case in enumerate(cases)]
    graph = merge_graphs(parts, "tiles")
    # Which layers are direct convolutions: generate once with a forced tile and read them.
    probe = compile_to_dir(graph, tmp_path / "probe", target="cpp", stimuli=0, tiling="6x2")
    layers = json.loads((probe / "tune.json").read_text())["layers"]
    assert len(layers) == len(parts), sorted(layers)
    tune = {"format": TUNE_FORMAT, "vlen": None, "machine": "test",
            "layers": {name: {"kernel": "direct",
                              "tile": list(tiles[int(name[1:].split("c")[0])])}
                       for name in layers}}
    out = compile_to_dir(graph, tmp_path / "tiled", target="cpp", stimuli=0, tune=tune)
    # Each layer's shape carries its tile, not the default.
    code = (out / "network.cpp").read_text()
    for pw, nv in tiles:
        assert f"NV = {nv}, PW = {pw};" in code
    build(out, opt=opt)
    reason = cpu_runs(opt)
    if reason:
        pytest.skip(reason)
    feeds = {f"{prefix}.{name}": value for t in range(len(tiles))
             for i, case in enumerate(cases)
             for prefix in [f"t{t}c{i}"] for name, value in case.feeds.items()}
    results = list(run_inputs(out, feeds).values())
    k = 0
    for t, tile in enumerate(tiles):
        for case in cases:
            want = run_ort(case.model, case.feeds)
            for ref in want:
                np.testing.assert_allclose(results[k], ref, rtol=1e-4, atol=1e-4,
                                           err_msg=f"{case.name}, tile {tile}, {build_name}")
                k += 1


def test_tiling_option_is_checked():
    assert parse_tiling("8x3").pw == 8 and parse_tiling(" 4X6 ").nv == 6
    assert parse_tiling("") is None
    with pytest.raises(UsageError, match="PWxNV"):
        parse_tiling("8-3")
    with pytest.raises(UsageError, match="divide 48"):
        parse_tiling("5x2")


def test_tune_file_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        Tuning.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not readable JSON"):
        Tuning.load(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="not an n2d2c tune file"):
        Tuning.load(bad)
    bad.write_text(json.dumps({"format": TUNE_FORMAT, "vlen": 16,
                               "layers": {"conv0": {"kernel": "fft"}}}))
    with pytest.raises(InputError, match="conv0"):
        Tuning.load(bad)
