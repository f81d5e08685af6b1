"""The size check after the build: `make` runs `make size-check` (size_check.sh), which
compares the chip build's flash and RAM with the part's and, when it does not fit, says
by how much and names the biggest symbols.  Its numbers are checked against
arm-none-eabi-size's Berkeley totals (text + data, data + bss), and the compile-time
report (sizes.py) must not promise less than the build takes."""

from __future__ import annotations

import re
import subprocess

import pytest

from n2d2c import quantization
from quantization.quant_models import digits_arrays, digits_graph

from .firmware import generate, require_arm


def _make(out, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(out), *args], capture_output=True,
                          text=True, timeout=600)


def _berkeley(elf) -> tuple[int, int]:
    text, data, bss = map(int, subprocess.run(
        ["arm-none-eabi-size", str(elf)], capture_output=True, text=True,
        check=True).stdout.splitlines()[1].split()[:3])
    return text + data, data + bss


def _used(kind: str, text: str) -> tuple[int, int]:
    found = re.search(rf"^{kind}: (\d+) of (\d+) bytes", text, re.M)
    assert found, text
    return int(found.group(1)), int(found.group(2))


def _compile_time(kind: str, report: str) -> int:
    return int(re.search(rf"^{kind}: (\d+) of", report, re.M).group(1))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The int8 digits CNN for an STM32F407 (1 MiB flash, 128 KiB RAM), built by `make`."""
    require_arm()
    x_test, _, calib = digits_arrays()
    qgraph, _ = quantization.quantize_graph(digits_graph(), calib[:64], {"nbbits": 8})
    out = generate(qgraph, tmp_path_factory.mktemp("size") / "digits", "stm32f4",
                   {"input": x_test[:1]}, flash_kib=0, ram_kib=0)
    proc = _make(out)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return out, proc.stdout


def test_make_checks_the_build_against_the_chip(built):
    out, stdout = built
    flash, ram = _berkeley(out / "build/target/app.elf")
    assert _used("flash", stdout) == (flash, 1024 * 1024)
    assert _used("RAM", stdout) == (ram, 128 * 1024)
    assert ".text" in stdout and ".stack" in stdout
    # The compile-time report is on the safe side of the build.
    report = (out / "size_report.txt").read_text()
    assert _compile_time("flash", report) >= flash
    assert _compile_time("RAM", report) >= ram


def test_a_build_too_big_for_its_limits_fails_saying_by_how_much(built):
    out, _ = built
    flash, ram = _berkeley(out / "build/target/app.elf")
    proc = _make(out, "size-check", f"FLASH_BYTES={flash - 100}")
    assert proc.returncode != 0
    assert f"flash: {flash} of {flash - 100} bytes" in proc.stdout
    assert "100 bytes (0.1 KiB) too many" in proc.stdout
    biggest = re.search(r"biggest symbols in flash:(.*)", proc.stdout).group(1)
    assert "w__fc_Gemm" in biggest, proc.stdout       # the largest weights
    assert "does not fit" in proc.stderr

    proc = _make(out, "size-check", f"RAM_BYTES={ram - 1}")
    assert proc.returncode != 0 and "1 bytes (0.0 KiB) too many" in proc.stdout
    assert "biggest symbols in RAM: arena" in proc.stdout
    assert _make(out, "size-check", f"RAM_BYTES={ram}").returncode == 0
