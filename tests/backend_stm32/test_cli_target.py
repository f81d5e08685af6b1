"""`n2d2c compile --backend stm32 --target NAME`: the CLI spelling of ``-X mcu=NAME``.

The same project, byte for byte, as with -X; the object code arm-none-eabi-gcc builds
from it is for the named core (its ELF attributes say the architecture and FPU); a
backend without target chips, an unknown name and a contradicting -X fail cleanly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import onnx
import pytest

from n2d2c.cli import main
from n2d2c.examples.lenet import lenet

from .firmware import require_arm


@pytest.fixture(scope="module")
def lenet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "lenet.onnx"
    onnx.save(lenet(), path)
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# --target name -> (what arm-none-eabi-readelf -A says of the object code)
ATTRIBUTES = {
    "stm32f4": ("Tag_CPU_arch: v7E-M", "Tag_FP_arch: VFPv4-D16"),
    "cortex-m3": ("Tag_CPU_arch: v7\n", "Tag_CPU_arch_profile: Microcontroller"),
    "cortex-m0": ("Tag_CPU_arch: v6S-M",),
}


@pytest.mark.parametrize("target", sorted(ATTRIBUTES))
def test_target_is_the_mcu_option_and_builds_for_that_core(target, lenet_path, tmp_path):
    require_arm()
    by_target, by_option = tmp_path / "t", tmp_path / "x"
    common = [str(lenet_path), "--backend", "stm32", "-X", "check-size=false"]
    assert main(["compile", *common, "--target", target, "-o", str(by_target)]) == 0
    assert main(["compile", *common, "-X", f"mcu={target}", "-o", str(by_option)]) == 0
    assert _tree(by_target) == _tree(by_option)
    assert f"mcu {target}" in (by_target / "Makefile").read_text()
    proc = subprocess.run(["make", "-s", "-C", str(by_target), "build/obj/network.o"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    attributes = subprocess.run(["arm-none-eabi-readelf", "-A",
                                 str(by_target / "build/obj/network.o")],
                                capture_output=True, text=True, check=True).stdout
    for fact in ATTRIBUTES[target]:
        assert fact in attributes, attributes


def test_target_defaults_to_stm32h7(lenet_path, tmp_path):
    out = tmp_path / "o"
    assert main(["compile", str(lenet_path), "--backend", "stm32", "-o", str(out)]) == 0
    makefile = (out / "Makefile").read_text()
    assert "mcu stm32h7" in makefile and "-mcpu=cortex-m7" in makefile


@pytest.mark.parametrize("flags, message", [
    (["--backend", "cpp", "--target", "stm32f4"],
     "--target applies to backends for embedded targets, not 'cpp'"),
    (["--backend", "stm32", "--target", "stm32f9"], "unknown value 'stm32f9'; expected one of stm32h7, stm32f7"),
    (["--backend", "stm32", "--target", "stm32f4", "-X", "mcu=cortex-m3"],
     "--target stm32f4 and -X mcu=cortex-m3 disagree"),
])
def test_bad_targets_fail_before_the_model_is_read(flags, message, tmp_path, capsys):
    assert main(["compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "o"),
                 *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
