"""The ``dneuro`` backend: DNeuro-style synthesizable dataflow VHDL for FPGAs.

    n2d2c compile model.onnx --calibration-random 8 --backend dneuro -o out/net \\
        -X nb_dsps=64 -X export_parameters=params.ini
    make -C out/net sim          # GHDL testbench, bit-exact with n2d2c's integer simulator
    make -C out/net emulator && (cd out/net && ./dneuro_emulator -stimulus stimuli/input.txt)
    make -C out/net synth        # ghdl --synth --out=verilog, then yosys

The input is the quantized integer IR (layers.py says which ops map to which block);
allocation.py balances the pipeline within NbDSPs/NbMemoryBytes; project.py writes
the files.
"""

from __future__ import annotations

from pathlib import Path

from ...ir import Graph
from ..registry import Backend, BackendOption, CompileOptions, register_backend

OPTIONS = (
    BackendOption("nb_dsps", 64, "NbDSPs: DSPs (multipliers) the network may use; lanes are "
                  "allocated to balance the pipeline within them (0: no limit)"),
    BackendOption("nb_memory_bytes", 0, "NbMemoryBytes: on-chip memory the line buffers, "
                  "weights and FIFOs may use (0: no limit)"),
    BackendOption("network", "network", "Network: name of the top-level VHDL entity"),
    BackendOption("estimation_frequency", 200.0, "EstimationFrequency: clock (MHz) of the "
                  "frames-per-second estimate"),
    BackendOption("accumulation_nb_bits", 0, "AccumulationNbBits: accumulator width (0: "
                  "2*data length + 4, widened to what every layer needs to be exact)"),
    BackendOption("output_map_to_rgb", False, "OutputMapToRGB: add a block colouring the "
                  "output's classes (top-1, or a binary threshold) as RGB"),
    BackendOption("output_map_to_rgb_color_masks", "", "OutputMapToRGBColorMasks: RRGGBB hex "
                  "colours, one per class (default: a fixed palette)"),
    BackendOption("output_map_to_rgb_background_class", -1, "OutputMapToRGBBackgroundClass: "
                  "the class drawn transparent (0, 0, 0)"),
    BackendOption("output_map_to_rgb_binary_threshold", 0, "OutputMapToRGBBinaryThreshold: a "
                  "one-channel output is class 1 above it"),
    BackendOption("output_map_to_rgb_binary_threshold_low", None, "OutputMapToRGBBinary"
                  "ThresholdLow: a value above it but not above the threshold is class 1 iff its "
                  "left or upper neighbour is (hysteresis in raster order; not given or >= the "
                  "threshold: none)"),
    BackendOption("export_parameters", "", "N2D2 -export-parameters INI file with the keys "
                  "above (NbDSPs = 128 ...); -X options given override it"),
    BackendOption("batch_size", 1, "BatchSize: G_BATCH_SIZE, frames streamed side by side "
                  "(a beat carries one pixel of each; one multiplier per lane and frame)"),
    BackendOption("fifo_depth", 1, "G_FIFO_DEPTH the estimate assumes"),
    BackendOption("frames", 3, "test frames exported and streamed by the testbench"),
    BackendOption("seed", 0, "seed of the random test frames"),
)


def _emit(graph: Graph, out_dir: Path, options: CompileOptions) -> None:
    from .project import write_project
    opts = BACKEND.resolve_options(options.extra)
    write_project(graph, out_dir, options, opts)


BACKEND = register_backend(Backend(
    name="dneuro",
    description="DNeuro dataflow VHDL for FPGAs (GHDL testbench, C99 emulator, resource "
                "estimate) from the quantized integer IR",
    default_pipeline="",
    emit=_emit,
    options=OPTIONS,
))
