"""The command line: every user error is one paragraph, a category exit code, no traceback."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from n2d2c import __version__
from n2d2c.cli import main


def cli(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "n2d2c.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_info_lists_layers_params_and_macs(lenet_path, capsys):
    assert main(["info", str(lenet_path)]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "MACs" in out and "parameters: 44,426" in out


def test_ir_round_trips_through_files(lenet_path, tmp_path, capsys):
    ir = tmp_path / "lenet.ir"
    assert main(["ir", str(lenet_path), "-o", str(ir)]) == 0
    assert ir.with_suffix(".npz").exists()
    assert main(["ir", str(ir)]) == 0
    printed = capsys.readouterr().out
    assert printed == ir.read_text()


def test_run_with_input_and_output_matches_python_api(lenet_path, tmp_path, capsys):
    import n2d2c
    x = np.random.default_rng(3).standard_normal((1, 1, 28, 28)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(lenet_path), "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "y.npy"), "--profile"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out  # the profile table names layers
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), n2d2c.run(lenet_path, x)["output"])


def test_run_random_input_is_seeded(lenet_path, tmp_path):
    outs = []
    for _ in range(2):
        assert main(["run", str(lenet_path), "--seed", "7", "--output",
                     str(tmp_path / "y.npy")]) == 0
        outs.append(np.load(tmp_path / "y.npy"))
    np.testing.assert_array_equal(*outs)


def unsupported_model(path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Hardmax", ["x"], ["a"], name="hardmax_node"),
             helper.make_node("Relu", ["a"], ["b"], name="ok_node"),
             helper.make_node("Selu", ["b"], ["y"], name="selu_node")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 20)])
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("case, code, message", [
    ("missing", 3, "does not exist"),
    ("not_onnx", 3, "not a valid ONNX file"),
    ("truncated", 3, "lenet_cut.onnx"),
    ("unsupported", 4, "hardmax_node"),
    ("bad_shape", 3, "expects [1, 1, 28, 28]"),
    ("bad_npy", 3, "cannot read"),
    ("bad_option", 2, "unrecognized arguments"),
    ("bad_pass", 2, "did you mean 'fuse-bn'"),
])
def test_user_errors_are_one_paragraph(case, code, message, lenet_path, tmp_path):
    args = {
        "missing": ["info", tmp_path / "nope.onnx"],
        "not_onnx": ["info", tmp_path / "text.onnx"],
        "truncated": ["info", tmp_path / "lenet_cut.onnx"],
        "unsupported": ["info", tmp_path / "odd_ops.onnx"],
        "bad_shape": ["run", lenet_path, "--input", tmp_path / "wrong.npy"],
        "bad_npy": ["run", lenet_path, "--input", tmp_path / "text.onnx"],
        "bad_option": ["info", lenet_path, "--frobnicate"],
        "bad_pass": ["ir", lenet_path, "--passes", "fuse-bnn"],
    }[case]
    (tmp_path / "text.onnx").write_text("this is not a model\n")
    (tmp_path / "lenet_cut.onnx").write_bytes(lenet_path.read_bytes()[:3000])
    unsupported_model(tmp_path / "odd_ops.onnx")
    np.save(tmp_path / "wrong.npy", np.zeros((1, 3, 28, 28), np.float32))
    rc, out, err = cli(*args)
    assert rc == code, err
    assert message in err
    assert "Traceback" not in err
    assert err.startswith("n2d2c: ")


def test_unsupported_lists_every_op_and_the_supported_ones(tmp_path):
    rc, _, err = cli("info", unsupported_model(tmp_path / "odd_ops.onnx"))
    assert rc == 4
    assert "Hardmax" in err and "Selu" in err and "selu_node" in err and "Conv" in err


def test_debug_shows_traceback(tmp_path):
    rc, _, err = cli("--debug", "info", tmp_path / "nope.onnx")
    assert rc == 3 and "Traceback" in err


def test_unknown_and_constant_only_refusals_are_one_error(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    nodes = [helper.make_node("Hardmax", ["x"], ["h"], name="hardmax_node"),
             helper.make_node("Mod", ["x", "two"], ["m"], name="mod_node", fmod=1),
             helper.make_node("Add", ["h", "m"], ["y"], name="add_node")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [two]),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "mixed.onnx")
    rc, _, err = cli("info", tmp_path / "mixed.onnx")
    assert rc == 4
    assert err.count("n2d2c:") == 1 and "Traceback" not in err
    assert "Hardmax (node 'hardmax_node')" in err and "'mod_node' (Mod)" in err
