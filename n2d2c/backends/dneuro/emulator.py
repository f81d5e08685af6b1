"""The bit-accurate emulator of a DNeuro network: a target of the shared C emitter.

``out/emulator/`` is the C99 project the C emitter renders from the same quantized
integer IR graph the DNeuro lowering (layers.py) reads, with two changes to that graph
(``emulator_graph``): its input and outputs are integers (``integer-io``: the stimulus
is the quantized input stream), and every DNeuro layer's output stream is an output, so
that each layer's output can be written however the C lowering fuses or places it.
``DNeuroEmulatorEmitter`` adds what the hardware does beyond the IR:

* the blocks without an IR op, run after the network on its outputs as small target
  kernels (templates/emulator/blocks/*.j2): the top-1 sorting OutputMapToRGB adds and
  the OutputMapToRGB colouring, with its binary threshold and hysteresis;
* the accumulator register of AccumulationNbBits bits: the exporter makes it hold every
  layer's exact accumulator or refuses (project.accumulator_length, from the exact bounds
  of hardware.accumulator_bound), so the RTL never wraps and the IR's arithmetic is the
  hardware's; the emulator keeps that as a compile-time check per layer (a build with a
  smaller ``-DACC_NB_BITS`` fails, naming the layer);
* a main (files/dneuro_emulator.c.j2) with the command line of the hardware's test
  flow: ``./dneuro_emulator -stimulus stimuli/input.txt [-frames N] [-out DIR]`` writes
  ``DIR/<layer>_output.txt`` (``file_stem``; ``_<frame>`` before ``.txt`` when N > 1), one
  pixel per line, its channels separated by spaces.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from ...ir import Graph, verify
from ...passes import DeadCode, IntegerIO
from ..c.emitter import CEmitter
from ..c.program import c_identifier, lower_graph
from .hardware import accumulator_bound, signed_bits
from .layers import Layer, Network

EMULATOR_TEMPLATES = Path(__file__).parent / "templates" / "emulator"
#: Files of the emulator project, under ``emulator/`` (the DNeuro Makefile builds them).
SOURCES = ("dneuro_emulator.c", "network.c", "weights.c")
#: The C API's prefix (``dneuro_run``...).
PROGRAM_NAME = "dneuro"


def file_stem(name: str) -> str:
    """The file name of a layer's output (N2D2: ``layer_name_output.txt``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def emulator_graph(graph: Graph, network: Network) -> Graph:
    """A copy of ``graph`` whose outputs are the integer output streams of every DNeuro
    layer an IR op computes, and whose input is the integer input stream."""
    g = graph.copy()
    values = {v.name: v for v in g.values()}
    g.outputs = list(dict.fromkeys(values[layer.output.name] for layer in network.layers
                                   if layer.output.name in values))
    IntegerIO().apply(g)
    DeadCode().apply(g)     # the Dequantize of the former output
    verify(g)
    return g


def _c_array(values) -> str:
    return "{" + ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1)) + "}"


class DNeuroEmulatorEmitter(CEmitter):
    """The portable C99 target, plus the blocks and the main of the DNeuro emulator."""

    target: ClassVar[str] = "dneuro-emulator"
    template_dirs: ClassVar[tuple[Path, ...]] = (EMULATOR_TEMPLATES,) + CEmitter.template_dirs
    # The C99 network files; the main is the emulator's (no Makefile: the DNeuro one).
    file_templates: ClassVar[dict[str, str]] = {
        **{name: t for name, t in CEmitter.file_templates.items()
           if name not in ("main.c", "Makefile")},
        "dneuro_emulator.c": "files/dneuro_emulator.c.j2",
    }

    def __init__(self, program, *, network: Network, entity: str, acc_bits: int, plan=None):
        super().__init__(program, plan=plan)
        self.network = network
        self.entity = entity
        self.acc_bits = acc_bits
        # Stream name -> the buffer holding it: output j of the C network, or a block's.
        self.buffers = {v.name: f"output{j}" for j, v in enumerate(program.outputs)}
        self.blocks = [self._block(layer, k) for k, layer in enumerate(network.layers)
                       if layer.output.name not in self.buffers]

    def _block(self, layer: Layer, index: int) -> dict:
        y = layer.output
        buffer = f"block{index}"
        self.buffers[y.name] = buffer
        block = {"name": layer.name, "kind": layer.kind, "y": buffer,
                 "x": self.buffers[layer.inputs[0].name], "C": layer.inputs[0].channels,
                 "M": y.channels, "H": y.height, "W": y.width, "pixels": y.pixels,
                 "last_index": layer.last_index, "threshold": layer.threshold,
                 "threshold_low": layer.threshold_low}
        if layer.table is not None:
            block["table"] = _c_array(layer.table)
        return block

    @property
    def input_stream(self):
        return self.network.input

    def dumps(self) -> list[dict]:
        """Every DNeuro layer's output: its file stem, buffer and geometry (buffers are
        NCHW: channel c of pixel p at c * pixels + p)."""
        return [{"name": layer.name, "stem": file_stem(layer.name) + "_output",
                 "buffer": self.buffers[layer.output.name], "channels": layer.output.channels,
                 "pixels": layer.output.pixels} for layer in self.network.layers]

    def accumulators(self) -> list[dict]:
        """The bits every layer's exact accumulator needs (see the module docstring)."""
        return [{"symbol": c_identifier(layer.name), "name": layer.name,
                 "bits": signed_bits(-accumulator_bound(layer), accumulator_bound(layer))}
                for layer in self.network.layers if layer.kind in ("conv", "depthwise", "sum")]

    def build_flags(self) -> str:
        """The C flags of ``make emulator``: the target's, and the generic Makefile's
        safety flags (templates/generic/files/Makefile.j2 says why)."""
        flags = ["-O2", *self.compiler_flags, "-fno-delete-null-pointer-checks"]
        if self.byte_arena:
            flags.append("-fno-strict-aliasing")
        return " ".join(flags)


def emulator_files(graph: Graph, network: Network, entity: str, acc_bits: int
                   ) -> tuple[dict[str, str], str]:
    """``emulator/<file>`` -> text, and the C flags the Makefile builds them with."""
    program = lower_graph(emulator_graph(graph, network), PROGRAM_NAME)
    emitter = DNeuroEmulatorEmitter(program, network=network, entity=entity,
                                    acc_bits=acc_bits)
    files = {f"emulator/{name}": text for name, text in emitter.render_files().items()}
    return files, emitter.build_flags()
