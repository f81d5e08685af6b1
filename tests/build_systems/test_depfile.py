"""`--depfile` lists every file the compile read; `--emit-manifest` hashes the project."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import onnx
import pytest

import n2d2c
from n2d2c.cli import main
from n2d2c.examples.lenet import lenet
from n2d2c.util.buildfiles import depfile_text
from support import REPO, require_tool

DIGITS = REPO / "tests" / "fixtures" / "digits_cnn.onnx"
DIGITS_CALIB = REPO / "tests" / "fixtures" / "digits_calib.npz"

CONV_TPL = """[{{SECTION_NAME}}_conv]
Input={{INPUT}}
Type=Conv
KernelDims=3 3
NbOutputs={{NB}}
ActivationFunction=Rectifier
"""
BLOCK_TPL = """{% include parts/conv.ini.tpl %}
[{{SECTION_NAME}}_pool]
Input={{SECTION_NAME}}_conv
Type=Pool
PoolDims=2 2
Stride=2
"""
NET_INI = """[sp]
SizeX=12
SizeY=12
NbChannels=1

[b1@block.ini.tpl]
INPUT=sp
NB=4

[fc]
Input=b1_pool
Type=Fc
NbOutputs=3
"""


USER_PASS = """from dataclasses import dataclass
from n2d2c.passes import Pass, PassResult, register_pass


@register_pass
@dataclass(frozen=True)
class BuildSystemsNoop(Pass):
    \"\"\"Does nothing (a --load-pass file the depfile must list).\"\"\"

    name = "build-systems-noop"

    def apply(self, graph):
        return PassResult({})
"""


def read_depfile(path: Path) -> tuple[str, list[str]]:
    """(target, inputs) of a depfile written by n2d2c (no escapes in these paths)."""
    rule = path.read_text().split("\n\n")[0]
    target, _, deps = rule.partition(":")
    return target, deps.replace("\\\n", " ").split()


def test_ini_includes_and_templates(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "conv.ini.tpl").write_text(CONV_TPL)
    (tmp_path / "block.ini.tpl").write_text(BLOCK_TPL)
    (tmp_path / "net.ini").write_text(NET_INI)
    dep = tmp_path / "net.d"
    assert main(["compile", str(tmp_path / "net.ini"), "--backend", "c", "-o",
                 str(tmp_path / "out"), "--depfile", str(dep)]) == 0
    target, deps = read_depfile(dep)
    assert target == str(tmp_path / "out")
    assert deps == [str(tmp_path / "net.ini"), str(tmp_path / "block.ini.tpl"),
                    str(tmp_path / "parts" / "conv.ini.tpl")]


def test_onnx_external_data(tmp_path):
    model = tmp_path / "lenet.onnx"
    onnx.save(lenet(), model, save_as_external_data=True, location="lenet.weights",
              size_threshold=0)
    result = n2d2c.compile(model, output_dir=tmp_path / "out", backend="c", stimuli=0,
                           depfile=tmp_path / "out.d", depfile_target="stamp")
    assert read_depfile(tmp_path / "out.d") == \
        ("stamp", [str(model), str(tmp_path / "lenet.weights")])
    assert result.inputs == (model, tmp_path / "lenet.weights")


def test_calibration_export_parameters_and_pass_files(tmp_path):
    params = tmp_path / "export.ini"
    params.write_text("MemoryManagerStrategy=OptimizeMaxLifetimeMaxSizeFirst\n")
    passes = tmp_path / "my_passes.py"
    passes.write_text(USER_PASS)
    manifest_out = tmp_path / "out"
    assert main(["compile", str(DIGITS), "--backend", "cpp", "-o", str(manifest_out),
                 "--calib-data", str(DIGITS_CALIB), "--calib", "8", "--export-parameters",
                 str(params), "--load-pass", str(passes), "-X", "stimuli=1",
                 "--depfile", str(tmp_path / "out.d"), "--emit-manifest"]) == 0
    _, deps = read_depfile(tmp_path / "out.d")
    assert sorted(deps) == sorted(map(str, [DIGITS, DIGITS_CALIB, params, passes]))
    manifest = json.loads((manifest_out / "manifest.json").read_text())["files"]
    on_disk = {p.relative_to(manifest_out).as_posix(): p.read_bytes()
               for p in manifest_out.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert {k: v["sha256"] for k, v in manifest.items()} == \
        {k: hashlib.sha256(v).hexdigest() for k, v in on_disk.items()}
    assert all(manifest[k]["bytes"] == len(v) for k, v in on_disk.items())


def test_escaping_read_back_by_ninja(tmp_path):
    """Ninja parses the depfile back into the very paths, spaces, '#' and '$' included."""
    require_tool("ninja")
    odd = tmp_path / "my models #1" / "v$2 final"
    odd.mkdir(parents=True)
    model = odd / "le net.onnx"
    onnx.save(lenet(), model, save_as_external_data=True, location="we#ights $1.bin",
              size_threshold=0)
    made = tmp_path / "made.d"
    n2d2c.compile(model, output_dir=tmp_path / "out", backend="c", stimuli=0, depfile=made,
                  depfile_target="stamp")
    (tmp_path / "build.ninja").write_text(
        "rule gen\n  command = cp made.d stamp.d && touch stamp\n  depfile = stamp.d\n"
        "  deps = gcc\nbuild stamp: gen\n")
    subprocess.run(["ninja"], cwd=tmp_path, check=True, capture_output=True)
    listed = subprocess.run(["ninja", "-t", "deps", "stamp"], cwd=tmp_path, check=True,
                            capture_output=True, text=True).stdout.splitlines()[1:]
    assert [line.strip() for line in listed if line.strip()] == \
        [str(model), str(odd / "we#ights $1.bin")]


@pytest.mark.parametrize("path,spelled", [
    ("a b", r"a\ b"), ("x#y", r"x\#y"), ("c$d", "c$$d"), (r"e\ f", r"e\\\ f"),
    ("plain/path.onnx", "plain/path.onnx"),
])
def test_escape_rules(path, spelled):
    assert depfile_text("t", [path]).splitlines()[1].strip() == spelled


def test_textual_ir_and_its_constants(lenet_path, tmp_path):
    ir = tmp_path / "lenet.ir"
    assert main(["ir", str(lenet_path), "-o", str(ir)]) == 0
    assert main(["compile", str(ir), "--backend", "onnx", "-o", str(tmp_path / "out"),
                 "--depfile", str(tmp_path / "out.d")]) == 0
    assert read_depfile(tmp_path / "out.d") == \
        (str(tmp_path / "out"), [str(ir), str(tmp_path / "lenet.npz")])


def test_reused_calibration_statistics(tmp_path):
    """A --calib-reload file is an input once it is reused, not while it is written."""
    stats = tmp_path / "stats.npz"
    args = ["compile", str(DIGITS), "--backend", "c", "-o", str(tmp_path / "out"),
            "--calib-data", str(DIGITS_CALIB), "--calib", "4", "--calib-reload", str(stats),
            "-X", "stimuli=0", "--depfile", str(tmp_path / "out.d")]
    assert main(args) == 0 and stats.exists()
    assert sorted(read_depfile(tmp_path / "out.d")[1]) == sorted(map(str, [DIGITS,
                                                                          DIGITS_CALIB]))
    assert main(args) == 0
    assert sorted(read_depfile(tmp_path / "out.d")[1]) == \
        sorted(map(str, [DIGITS, DIGITS_CALIB, stats]))
