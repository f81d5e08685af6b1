"""`n2d2c compile --backend dneuro` with N2D2's --export-parameters file."""

from __future__ import annotations

import subprocess
import sys

from n2d2c.examples import dneuro_nets as models

from .harness import manifest


def test_cli_reads_the_export_parameters_file(tmp_path):
    """`n2d2c compile --backend dneuro --export-parameters params.ini` on a quantized IR
    file: the entity and the DSP budget come from the file."""
    from n2d2c.ir import print_graph
    params = tmp_path / "params.ini"
    params.write_text("NbDSPs = 9\nNetwork = tiny_net\n")
    resources: dict = {}
    ir = tmp_path / "net.ir"
    ir.write_text(print_graph(models.depthwise_separable(), inline_limit=None,
                              resources=resources))
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "n2d2c.cli", "compile", str(ir), "--backend",
                          "dneuro", "--export-parameters", str(params), "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    info = manifest(out)
    assert info["entity"] == "tiny_net" and info["estimate"]["dsps"] <= 9
