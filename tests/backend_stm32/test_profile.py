"""Per-layer profiling (-X profile=1): `make qemu` prints the instructions each layer
executes (qemu_profile.sh, from QEMU's instruction trace between the marks network_run
calls), and the chip's build reads the DWT cycle counter instead.

The counts are checked against a second count of the same run: the trace's instructions
whose address lies in the layer's own function (arm-none-eabi-nm), which a DSP
convolution (calling nothing) must match up to the few instructions of the calls
around it."""

from __future__ import annotations

import re
import subprocess

import pytest

from n2d2c import quantization
from quantization.quant_models import digits_arrays, digits_graph

from .firmware import build_and_run, generate, require_arm

# network_run's call of the layer, then its call of the next mark (argument, branch).
CALL_OVERHEAD = 4


@pytest.fixture(scope="module")
def digits():
    x_test, _, calib = digits_arrays()
    qgraph, _ = quantization.quantize_graph(digits_graph(), calib[:64], {"nbbits": 8})
    return qgraph, x_test[:1]


def _in_function(elf, name: str, board: str) -> int:
    """Instructions QEMU executes inside function ``name`` (one per trace line)."""
    table = {}
    for line in subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16) & ~1, int(parts[1], 16))
    lo, size = table[name]
    log = elf.parent / "trace.log"
    subprocess.run(["qemu-system-arm", "-M", board, "-nographic", "-monitor", "none",
                    "-semihosting-config", "enable=on,target=native", "-kernel", str(elf),
                    "-singlestep", "-d", "exec,nochain", "-D", str(log)],
                   capture_output=True, timeout=240, check=True)
    count = 0
    with open(log) as trace:
        for line in trace:
            if line.startswith("Trace "):
                pc = int(line.split("[", 1)[1].split("/")[1], 16)
                count += lo <= pc < lo + size
    return count


def test_make_qemu_prints_instructions_per_layer(digits, tmp_path):
    require_arm()
    qgraph, x = digits
    out, _, stdout = build_and_run(qgraph, tmp_path / "h7", "stm32h7", {"input": x},
                                   profile=True)
    rows = re.findall(r"^@profile (\d+) (\S+) (\d+) instructions$", stdout, re.M)
    names = [name for _, name, _ in rows]
    assert names[0] == "load_inputs" and names[-1] == "store_outputs"
    assert "layer__conv2_Conv" in names and len(names) == len(set(names))
    counts = {name: int(n) for _, name, n in rows}
    total = int(re.search(r"^@profile total (\d+) instructions", stdout, re.M).group(1))
    assert total == sum(counts.values())
    # The same run counted by address: the convolution's own instructions.
    own = _in_function(out / "build/qemu/app.elf", "layer__conv2_Conv", "mps2-an500")
    assert own > 10000
    assert own <= counts["layer__conv2_Conv"] <= own + CALL_OVERHEAD, (own, counts)
    # The chip's build reads the DWT (its base address in the mark's literals);
    # QEMU's does not touch it.
    subprocess.run(["make", "-s", "-C", str(out), "EXTRA=-Werror", "build/target/app.elf"],
                   capture_output=True, timeout=300, check=True)
    for build, dwt in (("target", True), ("qemu", False)):
        code = subprocess.run(["arm-none-eabi-objdump", "-d", str(out / f"build/{build}/app.elf")],
                              capture_output=True, text=True, check=True).stdout
        assert (".word\t0xe0001000" in code) == dwt, build   # DWT_CTRL


def test_without_profile_nothing_is_marked(digits, tmp_path):
    qgraph, x = digits
    out = generate(qgraph, tmp_path / "plain", "stm32h7", {"input": x})
    assert not (out / "profile.c").exists() and not (out / "qemu_profile.sh").exists()
    assert "n2d2c_profile_mark" not in (out / "network.c").read_text()
    assert "qemu_profile.sh" not in (out / "Makefile").read_text()
