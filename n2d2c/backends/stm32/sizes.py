"""The size report of an stm32 project: flash and RAM against the chip's, at compile time.

Flash holds the weights, the test vectors and the code; RAM the arena, the buffers kept
out of it, the stack, the testbench's output buffers and a few other variables.
Weights, vectors and buffers are exact (the bytes the generated arrays declare, with
their alignment); code and the other variables are estimates (a fixed part for the
startup code, the testbench and the libc/libgcc helpers it links, plus a part per
kernel call), so the build's sizes are the final word: ``make size-check`` (the
generated size_check.sh, arm-none-eabi-size) compares them with the chip's.  A network
that does not fit raises ResourceLimitError naming how much is missing and the biggest
buffers and weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..c.formatting import const_bytes

# Code estimate (bytes): arm-none-eabi-gcc -O2 builds of the test networks measured from
# 6 to 9 KiB for the fixed part and 150 to 400 bytes per kernel call (loops unrolled by
# shapes known at compile time); the upper ends keep the estimate on the safe side.
CODE_BASE = 12 * 1024
CODE_PER_CALL = 512
# The DSP kernels are bigger (430 to 1,400 bytes for conv_dsp, 1,760 for a 3x3
# depthwise_dsp of 96 channels, -O2 on the M7) but calls average 170 bytes (the test
# networks' 1,180 layers: 201 KB), which 512 a call more than covers; counting the DSP
# kernels at their size on top refused the test networks' 4 MiB firmware, which fits.
# `make size-check` has the exact figures.
# RAM beside the arena, the stack and the output buffers: the testbench's text buffer
# (160 bytes), its pointer tables and counters, newlib-nano's few variables (measured
# 184 bytes on the digits CNN, one output).
OTHER_RAM = 256


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def _padded(n: int, align: int) -> int:
    return -(-n // align) * align


@dataclass
class SizeReport:
    flash: dict[str, int]
    ram: dict[str, int]
    flash_limit: int
    ram_limit: int
    buffers: list[tuple[str, int]]
    weights: list[tuple[str, int]]
    title: str

    @property
    def flash_total(self) -> int:
        return sum(self.flash.values())

    @property
    def ram_total(self) -> int:
        return sum(self.ram.values())

    @property
    def fits(self) -> bool:
        return self.flash_total <= self.flash_limit and self.ram_total <= self.ram_limit

    @staticmethod
    def _line(kind: str, total: int, limit: int, parts: dict[str, int]) -> str:
        detail = ", ".join(f"{k} {v}" for k, v in parts.items())
        over = total - limit
        state = f"{over} bytes ({_kib(over)}) too many" if over > 0 else f"{limit - total} free"
        return (f"{kind}: {total} of {limit} bytes ({100.0 * total / limit:.1f}%), "
                f"{state}: {detail}")

    @property
    def text(self) -> str:
        lines = [f"size report of {self.title} (compile-time; code is an estimate, "
                 "see `make size`)",
                 self._line("flash", self.flash_total, self.flash_limit, self.flash),
                 self._line("RAM", self.ram_total, self.ram_limit, self.ram),
                 "biggest buffers: " + _biggest(self.buffers),
                 "biggest weights: " + _biggest(self.weights)]
        return "\n".join(lines) + "\n"

    @property
    def error(self) -> str:
        parts = []
        if self.flash_total > self.flash_limit:
            parts.append(f"flash needs {self.flash_total} bytes, "
                         f"{self.flash_total - self.flash_limit} more than its "
                         f"{self.flash_limit} ({', '.join(f'{k} {v}' for k, v in self.flash.items())})")
        if self.ram_total > self.ram_limit:
            parts.append(f"RAM needs {self.ram_total} bytes, "
                         f"{self.ram_total - self.ram_limit} more than its "
                         f"{self.ram_limit} ({', '.join(f'{k} {v}' for k, v in self.ram.items())})")
        return (f"{self.title} does not fit: " + "; ".join(parts)
                + f"; biggest buffers: {_biggest(self.buffers)}"
                + f"; biggest weights: {_biggest(self.weights)}")


def _biggest(items: list[tuple[str, int]], count: int = 3) -> str:
    top = sorted(items, key=lambda t: -t[1])[:count]
    return ", ".join(f"{name} ({n} bytes)" for name, n in top) or "none"


def size_report(emitter) -> SizeReport:
    """The report of a rendered emitter (its constants registered, its arena placed)."""
    align = emitter.alignment
    weights = [(c.symbol, _padded(len(const_bytes(c.data, c.ctype)), align))
               for c in emitter.consts]
    vector_bytes = 0
    output_bytes = 0
    for inputs, outputs in emitter.vectors:
        for v in emitter.program.inputs:
            vector_bytes += _padded(inputs[v.name].size * v.type.dtype.itemsize, align)
        for v in emitter.program.outputs:
            vector_bytes += _padded(outputs[v.name].size * v.type.dtype.itemsize, align)
    for v in emitter.program.outputs:
        output_bytes += _padded(v.type.size * v.type.dtype.itemsize, align)
    code = CODE_BASE + CODE_PER_CALL * sum(len(layer.calls)
                                           for layer in emitter.program.layers)
    placement = emitter.placement
    flash = {"weights": sum(n for _, n in weights), "test vectors": vector_bytes,
             "code (estimate)": code}
    ram = {"arena": placement.nbytes, "outside the arena": sum(placement.external.values()),
           "stack": emitter.stack, "testbench outputs": output_bytes,
           "other (estimate)": OTHER_RAM}
    buffers = [(r.name, r.nbytes) for r in emitter.requests]
    buffers += list(placement.external.items())
    core = emitter.core
    title = (f"network '{emitter.program.name}' for {core.name} ({core.part}: "
             f"{_kib(core.memory.flash_bytes)} flash, {_kib(core.memory.ram_bytes)} RAM)")
    return SizeReport(flash, ram, core.memory.flash_bytes, core.memory.ram_bytes, buffers,
                      weights, title)


__all__ = ["SizeReport", "size_report"]
