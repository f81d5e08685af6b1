"""The Cortex-M cores and boards the stm32 target builds for: data, one entry per name.

A ``Core`` says how to compile for it (``-mcpu``, float ABI and FPU), whether it has
the DSP extension (packed 2x16-bit multiply-accumulate: the int8 kernels use it), the
memory of the chip the name stands for (what ``make`` links for and the size report
checks) and the QEMU board that emulates the core (what ``make qemu`` links for and
runs).  Flash and RAM are the usual part of each family (sizes from ST's datasheets):
pick the nearest name and override with ``-X flash-kib=`` / ``-X ram-kib=``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError


@dataclass(frozen=True)
class Memory:
    """One linkable memory map: where code/constants and data go, and their sizes."""

    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int


@dataclass(frozen=True)
class Board:
    """A QEMU machine emulating a core; semihosting is its console."""

    machine: str
    memory: Memory


@dataclass(frozen=True)
class Core:
    name: str
    part: str          # what the name stands for, for reports
    cpu: str           # -mcpu
    float_flags: tuple[str, ...]
    dsp: bool          # ARMv7E-M DSP extension (__smlad, __sxtb16, __ssat)
    memory: Memory     # the chip's, for `make` and the size report
    board: Board       # the QEMU board, for `make qemu`
    openocd: str       # OpenOCD board script of the usual evaluation board

    @property
    def cpu_flags(self) -> tuple[str, ...]:
        return (f"-mcpu={self.cpu}", "-mthumb", *self.float_flags)

    @property
    def has_fpu(self) -> bool:
        return "-mfloat-abi=hard" in self.float_flags


KIB = 1024
# QEMU's MPS2 FPGA images AN385/AN386/AN500 (hw/arm/mps2.c): ZBT SSRAM1, 4 MiB at 0 (the
# vector table and code), ZBT SSRAM2/3, 4 MiB at 0x20000000.  The micro:bit is an nRF51:
# 256 KiB flash at 0, 16 KiB RAM at 0x20000000.
MPS2 = Memory(0x00000000, 4096 * KIB, 0x20000000, 4096 * KIB)
BOARDS = {
    "mps2-an385": Board("mps2-an385", MPS2),
    "mps2-an386": Board("mps2-an386", MPS2),
    "mps2-an500": Board("mps2-an500", MPS2),
    "microbit": Board("microbit", Memory(0x00000000, 256 * KIB, 0x20000000, 16 * KIB)),
}

_DP_FPU = ("-mfloat-abi=hard", "-mfpu=fpv5-d16")      # Cortex-M7 with double precision
_SP_FPU = ("-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")   # Cortex-M4F
_SOFT = ("-mfloat-abi=soft",)
_STM32_FLASH = 0x08000000

CORES = {c.name: c for c in (
    # STM32H743: 2 MiB flash; the 512 KiB AXI SRAM at 0x24000000 (the largest block).
    Core("stm32h7", "STM32H743 (Cortex-M7, 480 MHz)", "cortex-m7", _DP_FPU, True,
         Memory(_STM32_FLASH, 2048 * KIB, 0x24000000, 512 * KIB), BOARDS["mps2-an500"],
         "board/stm32h7x3i_eval.cfg"),
    # STM32F767: 2 MiB flash, 512 KiB SRAM (DTCM + SRAM1 + SRAM2, contiguous).
    Core("stm32f7", "STM32F767 (Cortex-M7, 216 MHz)", "cortex-m7", _DP_FPU, True,
         Memory(_STM32_FLASH, 2048 * KIB, 0x20000000, 512 * KIB), BOARDS["mps2-an500"],
         "board/stm32f7discovery.cfg"),
    # STM32F407: 1 MiB flash, 128 KiB SRAM at 0x20000000 (the 64 KiB CCM is not used).
    Core("stm32f4", "STM32F407 (Cortex-M4F, 168 MHz)", "cortex-m4", _SP_FPU, True,
         Memory(_STM32_FLASH, 1024 * KIB, 0x20000000, 128 * KIB), BOARDS["mps2-an386"],
         "board/stm32f4discovery.cfg"),
    Core("cortex-m4", "a Cortex-M4F part (STM32F407 sizes)", "cortex-m4", _SP_FPU, True,
         Memory(_STM32_FLASH, 1024 * KIB, 0x20000000, 128 * KIB), BOARDS["mps2-an386"],
         "board/stm32f4discovery.cfg"),
    # STM32F207: 1 MiB flash, 128 KiB SRAM; no DSP extension, no FPU.
    Core("cortex-m3", "a Cortex-M3 part (STM32F207 sizes)", "cortex-m3", _SOFT, False,
         Memory(_STM32_FLASH, 1024 * KIB, 0x20000000, 128 * KIB), BOARDS["mps2-an385"],
         "board/stm32f2x.cfg"),
    # STM32F091: 256 KiB flash, 32 KiB SRAM; ARMv6-M (no DSP, no FPU).
    Core("cortex-m0", "a Cortex-M0 part (STM32F091 sizes)", "cortex-m0", _SOFT, False,
         Memory(_STM32_FLASH, 256 * KIB, 0x20000000, 32 * KIB), BOARDS["microbit"],
         "board/st_nucleo_f0.cfg"),
)}
DEFAULT_CORE = "stm32h7"


def get_core(name: str, flash_kib: int = 0, ram_kib: int = 0) -> Core:
    """The core called ``name``, its chip's flash/RAM replaced when given (KiB, 0: keep)."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in CORES:
        raise UsageError(f"unknown stm32 target '{name}'",
                         hint=f"targets: {', '.join(CORES)}")
    core = CORES[key]
    if flash_kib or ram_kib:
        m = core.memory
        memory = Memory(m.flash_origin, int(flash_kib) * KIB if flash_kib else m.flash_bytes,
                        m.ram_origin, int(ram_kib) * KIB if ram_kib else m.ram_bytes)
        core = Core(core.name, core.part, core.cpu, core.float_flags, core.dsp, memory,
                    core.board, core.openocd)
    return core


__all__ = ["BOARDS", "CORES", "Core", "DEFAULT_CORE", "Memory", "get_core"]
