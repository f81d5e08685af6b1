"""The ``stm32`` backend: a bare-metal C99 project for a Cortex-M microcontroller.

    n2d2c compile model.onnx --backend stm32 --target stm32f4 -o out/net   # or -X mcu=stm32f4
    make -C out/net          # arm-none-eabi-gcc, the chip's memory map (stm32.ld)
    make -C out/net qemu     # the QEMU board's build, runs the test vectors: PASS/FAIL

The project driver is the C layer's (``c/project.py``) and the kernels are the
generic C99 ones (``c/templates/generic``) except where the emitter says
(``emitter.py``).  Options beside the C-family project options
(``c/target.py: PROJECT_OPTIONS``) are below; the option is called ``mcu``
because the C layer's API already uses ``target`` for the backend; the CLI's
``--target`` sets it (``target_option``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...ir import Graph
from ...passes import IntegerIO
from ..c.project import compile_to_dir as _compile_to_dir
from ..c.target import CTarget, register_target
from ..registry import BackendOption
from .cores import CORES, DEFAULT_CORE
from .emitter import Stm32Emitter

def prepare_graph(graph: Graph, options: dict) -> Graph:
    """-X io=integer: the graph's inputs and outputs become its integer tensors
    (passes/integer_io.py), so that an int8 firmware needs no floating point."""
    if options.get("io") == "integer":
        IntegerIO().apply(graph)
    return graph


STM32 = CTarget(
    name="stm32",
    description="Cortex-M bare-metal C99 project: static arena, weights in flash, DSP "
                "int8 dots, linker script, startup, Makefile (make / make qemu / make flash)",
    emitter=Stm32Emitter,
    emitter_options=(
        BackendOption("mcu", DEFAULT_CORE, "the chip or core (-mcpu, FPU, DSP, flash/RAM, "
                      "QEMU board)", choices=tuple(CORES)),
        BackendOption("arena_section", ".bss", "linker section of the activation arena "
                      "(.bss, or a name the linker scripts place in RAM, NOLOAD)"),
        BackendOption("flash_kib", 0, "flash of the chip in KiB (0: the mcu's)"),
        BackendOption("ram_kib", 0, "RAM of the chip in KiB (0: the mcu's)"),
        BackendOption("stack", 4096, "bytes of stack the linker scripts reserve"),
        BackendOption("vectors", 1, "test vectors compiled into the firmware: a count of "
                      "random stimuli, or (Python) a list of {input name: array}"),
        BackendOption("check_size", True, "refuse a network that does not fit the chip"),
        BackendOption("io", "float", "the network's inputs and outputs: float (quantized and "
                      "dequantized in the firmware) or integer (a quantized graph's integer "
                      "tensors: no floating point at the edges)", choices=("float", "integer")),
        BackendOption("profile", False, "per-layer profiling: the DWT cycle counter on the "
                      "chip (the testbench prints cycles per layer), instruction counts "
                      "under QEMU (make qemu)"),
    ),
    target_option="mcu",
    prepare_graph=prepare_graph,
)
BACKEND = register_target(STM32)


def compile_to_dir(graph: Graph, out_dir: str | os.PathLike, *, name: str = "network",
                   **extra) -> Path:
    """Generate the stm32 project into ``out_dir`` atomically (a failure leaves no folder)."""
    return _compile_to_dir(graph, out_dir, target=STM32, name=name, **extra)


__all__ = ["BACKEND", "STM32", "Stm32Emitter", "compile_to_dir"]
