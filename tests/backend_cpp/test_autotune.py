"""-X tune=1 times tilings on this machine; the tune file it writes reproduces the code.

The autotuner builds the network once per candidate tile and reads each layer's median
time from the testbench (-prof-runs); the test checks what it chose is one of the candidates
measured for every direct convolution, that the tuned project still matches onnxruntime,
and that generating again from its tune.json gives byte-identical files (twice over, so the
file round-trips through the emitter unchanged).
"""

from __future__ import annotations

import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from .harness import finish_model, rand, require_compiler, run_ort
from n2d2c.backends.c.testing import build, run, run_inputs
from n2d2c.backends.cpp import compile_to_dir
from n2d2c.backends.cpp.autotune import layer_times, machine_vlen
from n2d2c.backends.cpp.tuning import CANDIDATES, TUNE_FORMAT
from n2d2c.backends.cpp import winograd
from n2d2c.backends.cpp.winograd import VARIANTS
from n2d2c.frontend.onnx import load_onnx


def two_convs():
    x = rand(1, 8, 12, 12, name="tune")
    inits = [numpy_helper.from_array(rand(24, 8, 3, 3, name="w0"), "w0"),
             numpy_helper.from_array(rand(40, 24, 1, 1, name="w1"), "w1")]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["r"], name="relu_a"),
             helper.make_node("Conv", ["r", "w1"], ["y"], name="conv_b")]
    model = finish_model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                         ["y"], inits, "two_convs")
    return model, {"x": x}


def project_files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".png" and "stimuli" not in p.parts}


def test_autotune_writes_a_tune_file_that_reproduces_the_code(tmp_path):
    require_compiler()
    model, feeds = two_convs()
    graph = load_onnx(model)
    tuned = compile_to_dir(graph, tmp_path / "tuned", tune="1", stimuli=1,
                         expected=False)
    generated = project_files(tuned)
    data = json.loads((tuned / "tune.json").read_text())
    vlen = machine_vlen("g++")
    assert data["format"] == TUNE_FORMAT and data["vlen"] == vlen
    assert sorted(data["layers"]) == ["conv_a", "conv_b"]
    for choice in data["layers"].values():
        if choice["kernel"] == "direct":
            assert tuple(choice["tile"]) in CANDIDATES[vlen]
        else:
            assert choice["kernel"] == "winograd" and choice["variant"] in VARIANTS
        assert choice["us"] > 0
    # conv_b (1x1) has no Winograd form; its tuned tile is guarded by the vector width it
    # was measured for.
    assert data["layers"]["conv_b"]["kernel"] == "direct"
    code = (tuned / "network.cpp").read_text()
    assert f"#if N2D2C_VLEN == {vlen}" in code

    build(tuned, opt="-O2 -march=native")
    want = run_ort(model, feeds)[0]
    atol = 1e-4
    choice_a = data["layers"]["conv_a"]
    if choice_a["kernel"] == "winograd":
        # Winograd's documented bound (winograd.py): (2 alpha + 2 sqrt(9C)) 2^-24 sum|w||x|
        # per conv_a output, here at most 72 taps x 2 x 2, carried through conv_b's 24
        # weights of at most 2.
        alpha = winograd.amplification(choice_a["variant"])
        atol = (2 * alpha + 2 * np.sqrt(72)) * 2.0 ** -24 * (72 * 2 * 2) * (24 * 2)
    np.testing.assert_allclose(run_inputs(tuned, feeds)["y"], want, rtol=1e-4, atol=atol)
    # -prof-runs reports every layer of the network, the autotuner's input.
    assert set(layer_times(tuned, 3)) >= {"conv_a", "conv_b"}

    again = compile_to_dir(graph, tmp_path / "again", tune=str(tuned / "tune.json"), stimuli=1,
                           expected=False)
    third = compile_to_dir(graph, tmp_path / "third", tune=str(again / "tune.json"), stimuli=1,
                           expected=False)
    assert project_files(again) == generated
    assert project_files(third) == generated


def test_prof_runs_option_prints_medians(tmp_path):
    require_compiler()
    model, feeds = two_convs()
    out = compile_to_dir(load_onnx(model), tmp_path / "p", stimuli=1, expected=False)
    build(out, opt="-O1")
    text = run(out, ["-no-outputs", "-expected", "none", "-prof-runs", "4"]).stdout
    assert "Per-layer median time over 4 runs" in text
    assert "layer conv_a " in text and "layer conv_b " in text
