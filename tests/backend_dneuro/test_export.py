"""The export's contract: the errors it gives, the parameters it reads, the allocation
it makes, and the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from n2d2c.errors import ResourceLimitError, UnsupportedError, UsageError
from n2d2c.ir import ops

from n2d2c.examples import dneuro_nets as models
from .harness import export, manifest
from n2d2c.examples.dneuro_nets import Builder


def test_unsupported_layers_get_one_error_naming_each(tmp_path):
    b = Builder("bad", (1, 3, 6, 6))
    y = b.conv(b.x, 4, 3, shift=8)
    lrn_in = b.g.add(ops.Dequantize(name="deq", scale=0.1), [y]).output
    t = b.g.add(ops.Tanh(name="my_tanh"), [lrn_in]).output
    s = b.g.add(ops.Softmax(name="my_softmax", axis=1), [t]).output
    b.g.outputs = [s]
    with pytest.raises(UnsupportedError) as err:
        export(b.g, tmp_path / "bad")
    text = str(err.value)
    assert "'my_tanh' (tanh)" in text and "'my_softmax' (softmax)" in text
    # A quantized Tanh (its 8-bit table) is refused too, naming the function.
    b = Builder("lut", (1, 3, 6, 6))
    table = b.g.constant(np.zeros(256, np.int8), "t")
    y = b.g.add(ops.Lookup(name="q_tanh", function="tanh"), [b.x, table]).output
    with pytest.raises(UnsupportedError, match="'q_tanh' \\(lookup\\) \\(a table of tanh"):
        export(b.done(y), tmp_path / "lut")


def test_floating_point_rescale_and_float_models_are_refused(tmp_path):
    b = Builder("fp", (1, 3, 6, 6))
    w = b.g.constant(np.ones((2, 3, 1, 1), np.int8), "w")
    acc = b.g.add(ops.Conv2d(name="c"), [b.x, w]).output
    y = b.g.add(ops.Rescale(name="fp_rescale", mode="floating-point", scales=(0.01,)),
                [acc]).output
    with pytest.raises(UnsupportedError, match="'fp_rescale'.*integer mode"):
        export(b.done(y), tmp_path / "fp")
    from n2d2c.examples import zoo
    from n2d2c.frontend.onnx import load_onnx
    with pytest.raises(UsageError, match="not quantized"):
        export(load_onnx(zoo.lenet(seed=0)), tmp_path / "float")


def test_too_few_dsps_or_too_little_memory_is_a_clear_error(tmp_path):
    graph = models.lenet_like()
    with pytest.raises(ResourceLimitError, match="at least 3 DSPs.*NbDSPs is 2"):
        export(graph, tmp_path / "dsp", nb_dsps=2)
    with pytest.raises(ResourceLimitError, match="bytes of on-chip memory.*NbMemoryBytes is 500"):
        export(graph, tmp_path / "mem", nb_memory_bytes=500)
    with pytest.raises(ResourceLimitError, match="AccumulationNbBits = 12"):
        export(graph, tmp_path / "acc", accumulation_nb_bits=12)


def test_more_dsps_give_a_faster_balanced_pipeline(tmp_path):
    """Lanes go to the bottleneck: the estimate falls as NbDSPs grows and never exceeds it,
    until the bottleneck has one lane per output channel and (its one input channel
    taken) every tap of a kernel row per cycle, after which more DSPs are left unused."""
    previous = None
    for dsps in (3, 8, 16, 96):
        info = manifest(export(models.lenet_like(), tmp_path / f"d{dsps}", nb_dsps=dsps,
                               frames=1))["estimate"]
        assert info["dsps"] <= dsps
        if previous is not None and dsps <= 16:
            assert info["cycles_per_frame"] < previous
        previous = info["cycles_per_frame"]
    slowest = next(r for r in info["layers"] if r["name"] == info["bottleneck"])
    assert slowest["name"] == "conv3" and info["dsps"] < 96      # the first conv
    assert (slowest["lanes"], slowest["channel_lanes"], slowest["tap_lanes"]) == (6, 1, 5)
    assert info["cycles_per_frame"] == 12 * 12 * 5         # one kernel row per cycle


def test_export_parameters_file_and_report(tmp_path):
    params = tmp_path / "params.ini"
    params.write_text("; DNeuro export parameters\nNbDSPs = 10\nNetwork = lenet_top\n"
                      "EstimationFrequency = 100\nUnrelatedKey = 1\n")
    out = export(models.lenet_like(), tmp_path / "p", export_parameters=str(params),
                 frames=1)
    info = manifest(out)
    assert info["entity"] == "lenet_top" and info["parameters"]["nb_dsps"] == 10
    assert "entity lenet_top is" in (out / "rtl" / "lenet_top.vhd").read_text()
    report = (out / "estimation.txt").read_text()
    cycles = info["estimate"]["cycles_per_frame"]
    assert f"Estimated frames per second at 100 MHz: {100e6 / cycles:.1f}" in report
    assert "Bottleneck layer:" in report and "Available DSPs on FPGA: 10" in report


def test_top_level_entity_has_the_documented_interface(tmp_path):
    out = export(models.depthwise_separable(), tmp_path / "n", frames=1)
    text = (out / "rtl" / "network.vhd").read_text()
    for name in ("G_BATCH_SIZE", "G_FIFO_DEPTH", "G_DATA_LENGTH", "G_ACC_S_LENGTH"):
        assert f"constant {name}" in text
    for port in ("clk", "rstn", "i_data", "i_valid_data", "o_en", "o_data", "o_valid_data",
                 "i_en"):
        assert f"    {port} " in text


def test_export_is_deterministic(tmp_path):
    a = export(models.residual_block(), tmp_path / "a", frames=1)
    b = export(models.residual_block(), tmp_path / "b", frames=1)
    for path in sorted(p for p in a.rglob("*") if p.is_file()):
        assert path.read_bytes() == (b / path.relative_to(a)).read_bytes(), path


def test_cli_compiles_an_onnx_model_and_names_its_softmax(tmp_path):
    from n2d2c.examples import zoo
    import onnx
    model = tmp_path / "lenet.onnx"
    onnx.save(zoo.lenet(seed=1), model)
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
    run = subprocess.run([sys.executable, "-m", "n2d2c.cli", "compile", str(model), "--backend",
                          "dneuro", "--calib-data", str(calib), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "softmax" in run.stderr.lower() and "dneuro has no block for" in run.stderr

