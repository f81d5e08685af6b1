"""Small networks through DNeuro: LeNet-like, a residual block, a depthwise-separable
block (random integer weights), and LeNet on 28x28 quantized by n2d2c's quantizer.
GHDL == emulator == integer simulator bit for bit (under random input gaps and
back-pressure too, but for the 28x28 LeNet); the estimated cycles per frame match GHDL's within 10 %."""

from __future__ import annotations

import pytest

from n2d2c.examples import dneuro_nets as models
from .harness import check_all, export, manifest


NETWORKS = models.NETWORKS


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_network_is_bit_exact_and_its_cycles_are_estimated(tmp_path, name):
    out = export(NETWORKS[name](), tmp_path / name, nb_dsps=24, frames=2)
    # The 28x28 LeNet streams once, without gaps (the others cover them), to stay quick.
    robust = 0 if name == "quantized_lenet28" else 25
    cycles = check_all(out, gap=robust, stall=robust, seed=7)
    estimated = manifest(out)["estimate"]["cycles_per_frame"]
    measured = cycles[1] - cycles[0]
    assert abs(measured - estimated) <= 0.1 * estimated, (measured, estimated)
