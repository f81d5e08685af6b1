"""The argument parser of every subcommand (the commands themselves: commands.py,
quantize.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..backends.registry import backend_names
from ..errors import UsageError
from ..frontend.ini.limits import LIMIT_FLAGS as INI_LIMIT_FLAGS
from ..quantization.options import QuantizationOptions
from ..version import __version__
from . import commands, quantize, sweep
from . import eval as evaluation

#: The quantization flags' defaults are the Python API's (one place to change them).
DEFAULTS = QuantizationOptions()


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so errors share one format."""

    def error(self, message):
        raise UsageError(message, hint=f"see '{self.prog} --help'")


#: CMake package and Makefile fragment, shipped as package data.
CMAKE_DIR = Path(__file__).resolve().parents[1] / "cmake"


class _PrintAndExit(argparse.Action):
    """A flag that prints ``text()`` and exits, like --version."""

    def __init__(self, option_strings, dest, text, help=None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)
        self.text = text

    def __call__(self, parser, namespace, values, option_string=None):
        print(self.text())
        parser.exit()


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file: .onnx, .ini (N2D2) or .ir (textual IR)")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=DxD...",
                   help="fix the shape of a graph input with symbolic dimensions")
    p.add_argument("--allow-dir", action="append", default=[], metavar="DIR",
                   help="extra folder the model may reference files from")
    p.add_argument("--params", metavar="PATH",
                   help="trained parameters of an INI model: folder of N2D2 files or .npz")
    limits = p.add_argument_group("resource limits (raise only for trusted inputs)")
    limits.add_argument("--max-constant-bytes", type=int, metavar="N")
    limits.add_argument("--max-graph-ops", type=int, metavar="N")
    for field_name, flag in INI_LIMIT_FLAGS.items():
        limits.add_argument(flag, dest=f"ini_{field_name}", type=int, metavar="N")


def add_pipeline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--passes", help="pass pipeline, e.g. 'fuse-bn,remove-dropout'")
    p.add_argument("--load-pass", action="append", default=[], metavar="FILE.py",
                   help="Python file registering extra passes")
    p.add_argument("--print-ir-after-all", action="store_true")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="PASS")
    p.add_argument("--no-verify-each", dest="verify_each", action="store_false",
                   help="do not verify the IR after each pass")
    p.add_argument("--time-passes", action="store_true")


def add_memory_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("memory planning (N2D2 export memory options)")
    g.add_argument("--export-parameters", metavar="PARAMS.INI",
                   help="N2D2 -export-parameters file: IncludeInputInBuffer, "
                        "OptimizeBufferMemory, OptimizeNoBranchConcat, MemoryAlignment, "
                        "MemoryManagerStrategy (other keys are ignored); for --backend "
                        "dneuro: NbDSPs, NbMemoryBytes, Network, EstimationFrequency, "
                        "AccumulationNbBits")
    g.add_argument("--memory-strategy", metavar="NAME",
                   help="MemoryManagerStrategy (overrides the parameters file): "
                        "best (default: every heuristic, smallest arena), exact, "
                        "OptimizeMaxLifetimeMaxSizeFirst (N2D2's default), ...")


def add_quantization_args(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    g = p.add_argument_group("post-training quantization (N2D2 semantics)")
    g.add_argument("--calib-data", required=required, metavar="PATH",
                   help="calibration samples: .npz (x), .npy, or a folder of .npy/.png/.pgm")
    g.add_argument("--calib", type=int, default=-1, metavar="N",
                   help="calibration samples to use (-1: all, the default)")
    g.add_argument("--calib-reload", default="", metavar="FILE",
                   help="statistics file: reused when it matches the model, else written")
    g.add_argument("--nbbits", type=int, default=None,
                   help="activation/weight bits (default 8; giving it to run/evaluate "
                        "quantizes)")
    g.add_argument("--wt-nbbits", type=int, default=0, help="weight bits (default: nbbits)")
    g.add_argument("--act-clipping-mode", default=DEFAULTS.act_clipping_mode,
                   help=f"None | MSE | KL-Divergence | Quantile (default "
                        f"{DEFAULTS.act_clipping_mode})")
    g.add_argument("--act-quantile-value", type=float, default=DEFAULTS.act_quantile_value,
                   help=f"fraction of values kept in Quantile mode (default "
                        f"{DEFAULTS.act_quantile_value})")
    g.add_argument("--wt-clipping-mode", default=DEFAULTS.wt_clipping_mode,
                   help="None | MSE | KL-Divergence")
    g.add_argument("--act-rescaling-mode", default=DEFAULTS.act_rescaling_mode,
                   help="Floating-point | Fixed-point16 | Fixed-point32 | Single-shift | "
                        f"Double-shift (default {DEFAULTS.act_rescaling_mode})")
    g.add_argument("--act-rescale-per-output", action="store_true",
                   help="rescale per output channel (per-channel weight scales)")
    g.add_argument("--wt-per-channel", dest="wt_per_channel", action="store_const", const=True,
                   default=DEFAULTS.wt_per_channel,
                   help="one weight scale per output channel (the default)")
    g.add_argument("--wt-per-layer", dest="wt_per_channel", action="store_const", const=False,
                   help="one weight scale per layer (N2D2's default)")
    g.add_argument("--keep-float", action="append", default=[], metavar="LAYER",
                   help="keep LAYER in float between dequantize and quantize (repeatable)")
    g.add_argument("--nbbits-layer", action="append", default=[], metavar="LAYER=BITS",
                   help="weights and result of LAYER (a conv/gemm) in BITS, e.g. conv7=16 "
                        "(repeatable)")
    g.add_argument("--no-unsigned", action="store_true",
                   help="signed activations even after ReLU")
    add_cluster_args(p)


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scale-out on Dask (pip install 'n2d2c[distributed]')")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run calibration/evaluation shards on this Dask scheduler "
                        "(default: $N2D2C_SCHEDULER)")
    g.add_argument("--workers", type=int, default=0, metavar="N",
                   help="run them on a local Dask cluster of N worker processes")


def add_build_system_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("build systems (Make, Ninja, CMake)")
    g.add_argument("--depfile", metavar="FILE",
                   help="write a Make/Ninja depfile: every file the compile read (model, "
                        "external data, INI includes and templates, parameters, calibration "
                        "data, export parameters)")
    g.add_argument("--depfile-target", metavar="PATH",
                   help="the target the depfile names (default: the output folder; a build "
                        "system gives its stamp file)")
    g.add_argument("--emit-manifest", action="store_true",
                   help="write OUTPUT/manifest.json: every generated file, its size and sha256")


def model_command(sub, name: str, help: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand that loads a model and may run a pass pipeline on it."""
    p = sub.add_parser(name, help=help, **kwargs)
    add_model_args(p)
    add_pipeline_args(p)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="n2d2c", description="Compile N2D2 INI / ONNX networks.")
    parser.add_argument("--version", action="version", version=f"n2d2c {__version__}")
    parser.add_argument("--cmake-dir", action=_PrintAndExit, text=lambda: str(CMAKE_DIR),
                        help="print the folder of n2d2c's CMake package (find_package(n2d2c), "
                             "n2d2c_add_model) and Makefile fragment (n2d2c.mk), then exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("info", help="layers, parameters, MACs and activation sizes")
    add_model_args(p)
    p.add_argument("--memory", action="store_true",
                   help="also plan the C++ backend's activation memory and print the plan")
    add_memory_args(p)
    p.set_defaults(func=commands.cmd_info)

    p = model_command(sub, "ir", "print the IR (after optional passes)")
    p.add_argument("-o", "--output", help="write the IR here (.ir) with constants in a .npz beside it")
    p.add_argument("--inline-constants", action="store_true", help="print every constant inline")
    p.set_defaults(func=commands.cmd_ir)

    p = model_command(sub, "run", "simulate the network on an input")
    p.add_argument("--input", action="append", default=[], metavar="[NAME=]FILE.npy",
                   help="input tensor (random when absent)")
    p.add_argument("--output", help="save the outputs (.npy for one output, else .npz)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input")
    p.add_argument("--profile", action="store_true", help="print time per layer")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="simulate on the CPU (numba) or a CUDA GPU (cupy: n2d2c[gpu])")
    p.add_argument("--batch", type=int, default=1, metavar="N",
                   help="samples per run on axis 0 of every input (set-batch pass)")
    p.add_argument("--inputs", metavar="FILE.npz|DIR",
                   help="many samples (an .npz of [samples, ...] arrays per input, or a folder "
                        "of one .npy/.npz per sample), run --batch at a time; the outputs are "
                        "stacked in sample order (identical to one-by-one runs)")
    p.add_argument("--reference-precision", action="store_true",
                   help="run the float64-accumulating reference kernels instead of the "
                        "float32 BLAS fast path (slower; the closest to the exact result)")
    add_quantization_args(p)
    p.set_defaults(func=commands.cmd_run)

    p = model_command(sub, "compile", "generate code for a backend",
                      epilog="'n2d2c backends' lists each backend's -X options, their "
                             "defaults and its default pass pipeline.")
    p.add_argument("--backend", default="cpp", choices=backend_names(),
                   help="target backend (default: cpp)")
    p.add_argument("--target", metavar="NAME",
                   help="the chip or core of a backend for embedded targets (stm32: "
                        "stm32h7 (default), stm32f7, stm32f4, cortex-m4, cortex-m3, "
                        "cortex-m0); the same as its -X option (stm32: -X mcu=NAME)")
    p.add_argument("-o", "--output", required=True, help="output folder (written atomically)")
    p.add_argument("--name", default="network", help="name of the generated network")
    p.add_argument("-X", "--backend-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend option (e.g. -X onnx_format=qop), checked and converted by "
                        "the backend; repeatable")
    p.add_argument("--memory-report", action="store_true",
                   help="print the memory plan: arena, lower bound, bytes saved by each "
                        "optimisation, every buffer (also in OUTPUT/memory_mapping.log)")
    add_memory_args(p)
    add_quantization_args(p)
    add_build_system_args(p)
    p.set_defaults(func=commands.cmd_compile)

    p = sub.add_parser("passes", help="list the registered passes and their options")
    p.add_argument("--load-pass", action="append", default=[], metavar="FILE.py")
    p.set_defaults(func=commands.cmd_passes)

    p = sub.add_parser("backends", help="list the backends, their options and pipelines")
    p.set_defaults(func=commands.cmd_backends)

    p = model_command(sub, "quantize", "post-training quantization to the integer IR")
    add_quantization_args(p, required=True)
    p.add_argument("--report", action="store_true",
                   help="print the per-layer table (and write it as CSV beside -o)")
    p.add_argument("--csv", default=None, metavar="FILE", help="write the report as CSV here")
    p.add_argument("-o", "--output", help="write the quantized IR here (.ir + .npz)")
    p.add_argument("--inline-constants", action="store_true", help="print every constant inline")
    p.set_defaults(func=quantize.cmd_quantize)

    p = model_command(sub, "eval", "score the network on a labelled data set (N2D2 targets)",
                      aliases=["evaluate"])
    evaluation.add_eval_args(p)
    add_quantization_args(p)
    p.set_defaults(func=evaluation.cmd_eval)

    p = model_command(sub, "sweep", "a grid of quantization settings: accuracy, SQNR, memory")
    sweep.add_arguments(p)
    add_cluster_args(p)
    p.set_defaults(func=sweep.cmd_sweep)
    return parser
