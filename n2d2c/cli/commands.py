"""`n2d2c info`, `ir`, `run`, `compile`, `passes` and `backends`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..errors import ShapeError, UsageError
from .common import (data_shapes, input_spec, load_limits, load_model, memory_options,
                     output_ir, pipeline_options, read_npy, run_pipeline)
from .quantize import quantize_from_args, wants_quantization


def cmd_info(args) -> int:
    from ..info import format_info
    graph = load_model(args)
    options = memory_options(args)
    if options is not None and not args.memory:
        raise UsageError("--export-parameters and --memory-strategy need --memory")
    sys.stdout.write(format_info(graph))
    if args.memory:
        from ..info import format_memory
        sys.stdout.write("\n" + format_memory(graph, options))
    return 0


def cmd_ir(args) -> int:
    graph = run_pipeline(args, load_model(args))
    output_ir(graph, args.output, inline_constants=args.inline_constants)
    return 0


def _read_inputs(args, graph) -> dict[str, np.ndarray]:
    from ..api import random_inputs
    feeds = random_inputs(graph, args.seed)
    names = [v.name for v in graph.inputs]
    for i, spec in enumerate(args.input):
        name, file = input_spec(spec, i)
        if isinstance(name, int):
            name = names[name] if name < len(names) else ""
        if name not in feeds:
            raise UsageError(f"--input '{spec}': the graph has no input '{name}'; its inputs are "
                             f"{', '.join(names)}")
        array = np.asarray(read_npy(file))
        want = next(v for v in graph.inputs if v.name == name).type
        if array.shape != want.shape:
            raise ShapeError(f"input '{name}' from '{file}' has shape {list(array.shape)}, "
                             f"the model expects {list(want.shape)} ({want})")
        feeds[name] = array.astype(want.dtype.numpy)
    return feeds


def cmd_run(args) -> int:
    from ..runtime import Simulator
    graph = run_pipeline(args, load_model(args))
    if wants_quantization(args):
        graph, _ = quantize_from_args(args, graph)
    if args.batch < 1:
        raise UsageError(f"--batch {args.batch}: must be at least 1")
    if args.inputs and args.input:
        raise UsageError("--input and --inputs exclude each other")
    if args.batch != 1 or args.inputs:
        from ..passes import Pipeline
        Pipeline.parse(f"set-batch{{size={args.batch}}}").run(graph)
    precision = "reference" if args.reference_precision else "fast"
    # Built before reading inputs: fails first without a GPU.
    sim = Simulator(graph, device=args.device, precision=precision)
    if args.inputs:
        from .run_inputs import read_samples, run_samples
        outputs = run_samples(sim, read_samples(args.inputs, graph), args.batch,
                              profile=args.profile)
    else:
        outputs = sim.run(_read_inputs(args, graph), profile=args.profile)
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


def parse_backend_options(specs: list[str]) -> dict[str, str]:
    """``-X KEY=VALUE`` flags as text; the backend checks the names and converts the
    values (``Backend.resolve_options``)."""
    options: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise UsageError(f"bad backend option '{spec}'; expected KEY=VALUE",
                             hint="'n2d2c backends' lists each backend's options")
        options[key] = value
    return options


def set_target_option(backend, extra: dict[str, object], target: str) -> None:
    """``--target NAME``: the backend's target option (``Backend.target_option``) set to
    NAME in ``extra``; a UsageError for a backend without one, or when ``-X`` set that
    option to another value."""
    from ..backends.registry import all_backends
    key = backend.target_option
    if key is None:
        with_targets = ", ".join(b.name for b in all_backends() if b.target_option)
        raise UsageError(f"--target applies to backends for embedded targets, not "
                         f"'{backend.name}'", hint=f"backends with --target: {with_targets}")
    for name, value in list(extra.items()):
        if str(name).replace("-", "_") == key:
            if str(value).strip().lower() != target.strip().lower():
                raise UsageError(f"--target {target} and -X {name}={value} disagree",
                                 hint="give one of them")
            del extra[name]
    extra[key] = target


def cmd_compile(args) -> int:
    """`n2d2c compile`: the flags turned into one ``n2d2c.compile`` call."""
    from ..api import compile as compile_model
    from ..backends.registry import get_backend
    from ..frontend import parse_shape_overrides
    from ..passes import load_pass_module
    from ..util.inputs import record_inputs
    backend = get_backend(args.backend)
    extra: dict[str, object] = dict(parse_backend_options(args.backend_option))
    if args.target is not None:
        set_target_option(backend, extra, args.target)
    quantize = (lambda graph: quantize_from_args(args, graph)) if wants_quantization(args) \
        else None
    with record_inputs():  # the files read here join the depfile the API writes
        if args.export_parameters and "export_parameters" in backend.option_defaults():
            # A backend with parameters of its own (dneuro: NbDSPs, ...) reads the file.
            extra.setdefault("export_parameters", args.export_parameters)
            args.export_parameters = None
        memory = memory_options(args)
        if (memory is not None or args.memory_report) and not backend.plans_memory:
            raise UsageError("--memory-report, --memory-strategy and --export-parameters apply "
                             f"to backends that plan activation memory, not '{backend.name}'")
        if memory is not None:
            extra["memory"] = memory
        if args.memory_report:
            extra["memory_report"] = True
        backend.resolve_options(extra)  # bad options fail before the model is loaded
        for module in args.load_pass:
            load_pass_module(module)
        # The quantization is the flags' (quantize_from_args: its warnings, its
        # calibration data read once, possibly on a cluster), the rest the API's.
        compile_model(args.model, args.output, backend=backend.name, options=extra,
                      passes=args.passes, name=args.name, quantize=quantize,
                      input_shapes=parse_shape_overrides(args.input_shape),
                      data_shapes=data_shapes(args), allow_dirs=args.allow_dir,
                      params=args.params, limits=load_limits(args),
                      pipeline_options=pipeline_options(args), depfile=args.depfile,
                      depfile_target=args.depfile_target, manifest=args.emit_manifest)
    print(f"wrote {backend.name} project to {args.output}")
    if args.memory_report:
        sys.stdout.write((Path(args.output) / "memory_mapping.log").read_text(encoding="utf-8"))
    return 0


def cmd_passes(args) -> int:
    from ..passes import describe_passes, load_pass_module
    for module in args.load_pass:
        load_pass_module(module)
    for name, description, options in describe_passes():
        print(f"{name:<20} {description}")
        for opt in options:
            print(f"{'':<22}{opt.name}={opt.default!s:<10} ({opt.type}) {opt.help}")
    return 0


def cmd_backends(args) -> int:
    from ..backends.registry import all_backends
    for backend in all_backends():
        print(f"{backend.name:<8} {backend.description}")
        print(f"{'':<10}default pipeline: {backend.default_pipeline or '(none)'}")
        if backend.plans_memory:
            print(f"{'':<10}plans activation memory (--memory-strategy, --memory-report, "
                  "--export-parameters)")
        for opt in backend.options:
            values = f" ({' | '.join(opt.choices)})" if opt.choices else ""
            print(f"{'':<10}-X {opt.name}={opt.default!s}{values}: {opt.help}")
    return 0
