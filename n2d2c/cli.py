"""Command line: `n2d2c {info,ir,run,compile,passes,quantize,evaluate}`.

Every user error ends in one paragraph on stderr and a category exit code
(see errors.py); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

import numpy as np

from . import __version__
from .errors import InputError, InternalError, N2D2CError, ShapeError, UsageError
from .quantization.cli import add_commands as add_quantization_commands
from .quantization.cli import add_quantization_args, quantize_from_args, wants_quantization
from .frontend.ini.limits import LIMIT_FLAGS as INI_LIMIT_FLAGS
from .util.atomic import Terminated


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so errors share one format."""

    def error(self, message):
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def _add_model_args(p: argparse.ArgumentParser) -> None:
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


def _add_pipeline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--passes", help="pass pipeline, e.g. 'fuse-bn,remove-dropout'")
    p.add_argument("--load-pass", action="append", default=[], metavar="FILE.py",
                   help="Python file registering extra passes")
    p.add_argument("--print-ir-after-all", action="store_true")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="PASS")
    p.add_argument("--no-verify-each", dest="verify_each", action="store_false",
                   help="do not verify the IR after each pass")
    p.add_argument("--time-passes", action="store_true")


def _add_memory_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("memory planning (N2D2 export memory options)")
    g.add_argument("--export-parameters", metavar="PARAMS.INI",
                   help="N2D2 -export-parameters file: IncludeInputInBuffer, "
                        "OptimizeBufferMemory, OptimizeNoBranchConcat, MemoryAlignment, "
                        "MemoryManagerStrategy (other keys are ignored)")
    g.add_argument("--memory-strategy", metavar="NAME",
                   help="MemoryManagerStrategy (overrides the parameters file): "
                        "OptimizeMaxLifetimeMaxSizeFirst (default), best, exact, ...")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="n2d2c", description="Compile N2D2 INI / ONNX networks.")
    parser.add_argument("--version", action="version", version=f"n2d2c {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("info", help="layers, parameters, MACs and activation sizes")
    _add_model_args(p)
    p.add_argument("--memory", action="store_true",
                   help="also plan the C++ backend's activation memory and print the plan")
    _add_memory_args(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("ir", help="print the IR (after optional passes)")
    _add_model_args(p)
    _add_pipeline_args(p)
    p.add_argument("-o", "--output", help="write the IR here (.ir) with constants in a .npz beside it")
    p.add_argument("--inline-constants", action="store_true", help="print every constant inline")
    p.set_defaults(func=cmd_ir)

    p = sub.add_parser("run", help="simulate the network on an input")
    _add_model_args(p)
    _add_pipeline_args(p)
    p.add_argument("--input", action="append", default=[], metavar="[NAME=]FILE.npy",
                   help="input tensor (random when absent)")
    p.add_argument("--output", help="save the outputs (.npy for one output, else .npz)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random input")
    p.add_argument("--profile", action="store_true", help="print time per layer")
    add_quantization_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compile", help="generate code for a backend")
    _add_model_args(p)
    _add_pipeline_args(p)
    p.add_argument("--backend", default="cpp", help="target backend (default: cpp)")
    p.add_argument("-o", "--output", required=True, help="output folder (written atomically)")
    p.add_argument("--name", default="network", help="name of the generated network")
    p.add_argument("-X", "--backend-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend-specific option (e.g. -X onnx_format=qop); repeatable")
    p.add_argument("--memory-report", action="store_true",
                   help="print the memory plan: arena, lower bound, bytes saved by each "
                        "optimisation, every buffer (also in OUTPUT/memory_mapping.log)")
    _add_memory_args(p)
    add_quantization_args(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("passes", help="list the registered passes and their options")
    p.add_argument("--load-pass", action="append", default=[], metavar="FILE.py")
    p.set_defaults(func=cmd_passes)

    add_quantization_commands(sub, _add_model_args, _add_pipeline_args)
    return parser


# -- commands ---------------------------------------------------------------------

def _limits(args):
    import dataclasses

    from .frontend.limits import LoadLimits
    defaults = LoadLimits()
    ini = {f: getattr(args, f"ini_{f}") for f in INI_LIMIT_FLAGS
           if getattr(args, f"ini_{f}") is not None}
    top = {f: getattr(args, f) for f in ("max_constant_bytes", "max_graph_ops")
           if getattr(args, f) is not None}
    return dataclasses.replace(defaults, ini=dataclasses.replace(defaults.ini, **ini), **top)


def _load(args):
    from .api import load
    from .frontend import parse_shape_overrides
    return load(args.model, input_shapes=parse_shape_overrides(args.input_shape),
                allow_dirs=args.allow_dir, params=args.params, limits=_limits(args))


def _run_pipeline(args, graph, default: str | None = None):
    from .passes import Pipeline, load_pass_module
    for module in args.load_pass:
        load_pass_module(module)
    text = args.passes if args.passes is not None else default
    if not text:
        return graph
    Pipeline.parse(text).run(graph, verify_each=args.verify_each,
                             print_ir_after_all=args.print_ir_after_all,
                             print_ir_after=tuple(args.print_ir_after),
                             time_passes=args.time_passes, out=sys.stderr)
    return graph


def _memory_options(args):
    """MemoryOptions from --export-parameters and --memory-strategy (None if neither)."""
    if not args.export_parameters and not args.memory_strategy:
        return None
    import dataclasses

    from .passes.memory import MemoryOptions, options_from_params, parse_params
    options = MemoryOptions()
    if args.export_parameters:
        path = Path(args.export_parameters)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"cannot read parameters file: {err.strerror}",
                             location=str(path)) from None
        options = options_from_params(parse_params(text, str(path)), strict=False)
    if args.memory_strategy:
        options = dataclasses.replace(options, MemoryManagerStrategy=args.memory_strategy)
    return options


def cmd_info(args) -> int:
    from .info import format_info
    graph = _load(args)
    options = _memory_options(args)
    if options is not None and not args.memory:
        raise UsageError("--export-parameters and --memory-strategy need --memory")
    sys.stdout.write(format_info(graph))
    if args.memory:
        from .info import format_memory
        sys.stdout.write("\n" + format_memory(graph, options))
    return 0


def cmd_ir(args) -> int:
    from .ir import print_graph
    graph = _run_pipeline(args, _load(args))
    limit = None if args.inline_constants else 16
    if args.output:
        from .util.atomic import atomic_write_bytes
        resources: dict = {}
        text = print_graph(graph, inline_limit=limit, resources=resources)
        out = Path(args.output)
        atomic_write_bytes(out, text.encode())
        if resources:
            import io
            buf = io.BytesIO()
            np.savez(buf, **resources)
            atomic_write_bytes(out.with_suffix(".npz"), buf.getvalue())
    else:
        sys.stdout.write(print_graph(graph, inline_limit=limit, resources={}))
    return 0


def _read_inputs(args, graph) -> dict[str, np.ndarray]:
    from .api import random_inputs
    feeds = random_inputs(graph, args.seed)
    names = [v.name for v in graph.inputs]
    for i, spec in enumerate(args.input):
        name, sep, file = spec.partition("=")
        if not sep:
            name, file = (names[i] if i < len(names) else ""), spec
        if name not in feeds:
            raise UsageError(f"--input '{spec}': the graph has no input '{name}'; its inputs are "
                             f"{', '.join(names)}")
        try:
            array = np.load(file, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(f"input file '{file}' does not exist") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read '{file}' as a .npy array: {exc}") from None
        want = next(v for v in graph.inputs if v.name == name).type
        if array.shape != want.shape:
            raise ShapeError(f"input '{name}' from '{file}' has shape {list(array.shape)}, "
                             f"the model expects {list(want.shape)} ({want})")
        feeds[name] = array.astype(want.dtype.numpy)
    return feeds


def cmd_run(args) -> int:
    from .runtime import Simulator
    graph = _run_pipeline(args, _load(args))
    if wants_quantization(args):
        graph, _ = quantize_from_args(args, graph)
    feeds = _read_inputs(args, graph)
    sim = Simulator(graph)
    outputs = sim.run(feeds, profile=args.profile)
    np.set_printoptions(precision=6, suppress=True, threshold=64)
    for name, array in outputs.items():
        print(f"%{name}: {list(array.shape)} {array.dtype}")
        print(array)
    if args.profile:
        print(sim.format_profile())
    if args.output:
        out = Path(args.output)
        if len(outputs) == 1 and out.suffix != ".npz":
            np.save(out, next(iter(outputs.values())))
        else:
            np.savez(out, **outputs)
    return 0


def cmd_compile(args) -> int:
    from .backends.registry import CompileOptions, get_backend
    from .util.atomic import atomic_output_dir
    backend = get_backend(args.backend)
    extra = _backend_options(args.backend_option)
    memory = _memory_options(args)
    if (memory is not None or args.memory_report) and args.backend != "cpp":
        raise UsageError("--memory-report, --memory-strategy and --export-parameters apply to "
                         f"the cpp backend, not '{args.backend}'")
    if memory is not None:
        extra["memory"] = memory
    if args.memory_report:
        extra["memory_report"] = True
    graph = _run_pipeline(args, _load(args), default=backend.default_pipeline)
    if wants_quantization(args):
        graph, _ = quantize_from_args(args, graph)
    with atomic_output_dir(args.output) as scratch:
        backend.emit(graph, scratch, CompileOptions(output_dir=Path(args.output), name=args.name,
                                                    extra=extra))
    print(f"wrote {args.backend} project to {args.output}")
    if args.memory_report:
        sys.stdout.write((Path(args.output) / "memory_mapping.log").read_text(encoding="utf-8"))
    return 0


def _backend_options(specs: list[str]) -> dict[str, object]:
    options: dict[str, object] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise UsageError(f"bad backend option '{spec}'; expected KEY=VALUE")
        try:
            options[key] = int(value)
        except ValueError:
            options[key] = value
    return options


def cmd_passes(args) -> int:
    from .passes import describe_passes, load_pass_module
    for module in args.load_pass:
        load_pass_module(module)
    for name, description, options in describe_passes():
        print(f"{name:<20} {description}")
        for opt in options:
            print(f"{'':<22}{opt.name}={opt.default!s:<10} ({opt.type}) {opt.help}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except N2D2CError as err:
        if debug:
            traceback.print_exc()
        print(f"n2d2c: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("n2d2c: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except Terminated:
        print("n2d2c: terminated; no partial output was left", file=sys.stderr)
        return 143
    except Exception as exc:  # a bug: short message, traceback only on request
        if debug:
            traceback.print_exc()
        err = InternalError(f"{type(exc).__name__}: {exc}",
                            hint="this is a bug in n2d2c; re-run with --debug and report it")
        print(f"n2d2c: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
