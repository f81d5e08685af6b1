"""Every file an input names stays inside its folder (or --allow-dir), and a model
that declares a 100 GB tensor fails fast with small memory use.

The frontends' own tests cover each mechanism in detail; this file checks the
issue's list end to end through the CLI, one case per input path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from n2d2c.examples.lenet import lenet

LENET_INI = textwrap.dedent("""\
    [sp]
    SizeX=8
    SizeY=8
    NbChannels=1

    [conv]
    Input=sp
    Type=Conv
    KernelDims=3 3
    NbOutputs=2
    ActivationFunction=Rectifier
    """)


def cli(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "n2d2c.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)
    return proc.returncode, proc.stderr


def assert_refused(rc, err, *needles):
    assert rc == 3, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def model_dir(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("target", ["/etc/hostname", "../secret.ini.tpl", "link.ini.tpl"])
def test_ini_template_escapes_are_refused(model_dir, tmp_path, target):
    (tmp_path / "secret.ini.tpl").write_text("[x]\nType=Dropout\nInput=sp\n")
    os.symlink(tmp_path / "secret.ini.tpl", model_dir / "link.ini.tpl")
    ini = model_dir / "net.ini"
    ini.write_text(LENET_INI + f"\n[blk@{target}]\nINPUT=conv\n")
    rc, err = cli("info", ini)
    assert_refused(rc, err, "net.ini:")


def test_ini_onnx_cell_escape_is_refused(model_dir, tmp_path):
    onnx.save(lenet(), tmp_path / "outside.onnx")
    ini = model_dir / "net.ini"
    ini.write_text("[sp]\nSizeX=28\nSizeY=28\nNbChannels=1\n\n[onnx]\nInput=sp\nType=ONNX\n"
                   "File=../outside.onnx\n")
    rc, err = cli("info", ini)
    assert_refused(rc, err, "outside.onnx")
    # The same file loads when the user allows its folder explicitly.
    rc, err = cli("info", ini, "--allow-dir", tmp_path)
    assert rc == 0, err


def test_ini_labels_mapping_escape_is_refused(model_dir, tmp_path):
    (tmp_path / "labels.dat").write_text("0 zero\n")
    ini = model_dir / "net.ini"
    ini.write_text(LENET_INI + "\n[conv.Target]\nLabelsMapping=/etc/hostname\n")
    rc, err = cli("info", ini)
    assert_refused(rc, err, "LabelsMapping")


def test_onnx_external_data_traversal_is_refused(model_dir):
    model = lenet()
    onnx.save_model(model, str(model_dir / "m.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="w.bin", size_threshold=0)
    m = onnx.load(str(model_dir / "m.onnx"), load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../../etc/passwd"
    (model_dir / "m.onnx").write_bytes(m.SerializeToString())
    rc, err = cli("info", model_dir / "m.onnx")
    assert_refused(rc, err, "m.onnx")


def huge_model(folder: Path, external: bool) -> Path:
    """A model that declares a 100 GB float tensor in a file of a few hundred bytes."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[25_000, 1_000_000])
    if external:
        w.data_location = TensorProto.EXTERNAL
        entry = w.external_data.add()
        entry.key, entry.value = "location", "w.bin"
        (folder / "w.bin").write_bytes(b"\0" * 1024)
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "huge", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = folder / "huge.onnx"
    path.write_bytes(model.SerializeToString())
    assert path.stat().st_size < 1024
    return path


# VmHWM is the peak resident size of this process's own address space (reset by
# exec); ru_maxrss is not usable here because Linux carries it over from the
# pytest worker that forked the child.
MEASURE = textwrap.dedent("""
    import sys
    from n2d2c.cli import main
    rc = main(["info", sys.argv[1]])
    with open("/proc/self/status") as f:
        hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    print("MAXRSS_KB", hwm)
    sys.exit(rc)
""")


@pytest.mark.parametrize("external", [False, True])
def test_100gb_tensor_fails_fast_with_small_memory(tmp_path, external):
    path = huge_model(tmp_path, external)
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "huge.onnx" in proc.stderr
    rss_mb = int(proc.stdout.split("MAXRSS_KB")[1]) / 1024
    assert rss_mb < 500, f"peak memory {rss_mb:.0f} MB"
