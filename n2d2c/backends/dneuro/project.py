"""The DNeuro project: RTL, testbench, test vectors, emulator, Makefile and estimate.

    out/rtl/*.vhd            one entity per layer, dneuro_pkg, dneuro_fifo, network
    out/tb/network_tb.vhd    GHDL testbench (make sim)
    out/emulator/            the bit-accurate emulator, C99 from the shared C emitter
                             (emulator.py; make emulator)
    out/stimuli/input.txt    the input frames, one pixel per line (integers)
    out/expected/            output.txt (the network's) and <layer>_output.txt, from
                             n2d2c's integer simulator
    out/estimation.txt       the per-layer resource and throughput estimate
    out/network.json         the same as data, with the export parameters
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...errors import InputError, ResourceLimitError, UsageError
from ...ir import Graph, verify
from ...util.flags import is_true_word
from ...util.inputs import note_input
from ..c.project import random_input
from ..registry import CompileOptions
from .allocation import Parameters, allocate, estimate, report_text
from .emulator import emulator_files, file_stem
from .hardware import accumulator_bound, signed_bits
from .layers import Network, read_network
from .rgb import add_rgb_output, reference
from .rtl import network_files, render, timeout_cycles

#: N2D2 export-parameter keys and the Parameters field each sets.
PARAMETER_KEYS = {"NbDSPs": "nb_dsps", "NbMemoryBytes": "nb_memory_bytes", "Network": "network",
                  "EstimationFrequency": "estimation_frequency",
                  "AccumulationNbBits": "accumulation_nb_bits",
                  "BatchSize": "batch_size",     # n2d2c's: G_BATCH_SIZE of the export
                  "OutputMapToRGB": "output_map_to_rgb",
                  "OutputMapToRGBColorMasks": "output_map_to_rgb_color_masks",
                  "OutputMapToRGBBackgroundClass": "output_map_to_rgb_background_class",
                  "OutputMapToRGBBinaryThreshold": "output_map_to_rgb_binary_threshold",
                  "OutputMapToRGBBinaryThresholdLow": "output_map_to_rgb_binary_threshold_low"}


#: N2D2's per-layer debug keys, read in a section named after the layer (``[conv1]``).
LAYER_KEYS = ("NbOutputsInstantiation", "NbChannelsInstantiation", "KernelWidthInstantiation",
              "KernelHeightInstantiation", "RTLType")


def read_parameters_file(path: str) -> dict:
    """``Key = value`` lines of an N2D2 -export-parameters file (; # comments ignored); only
    the DNeuro keys are returned, the per-layer ones (LAYER_KEYS, in a ``[layer]``
    section) under ``layer_settings``."""
    note_input(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read export parameters: {err.strerror}",
                         location=path) from None
    found: dict = {}
    section = None
    for line in text.splitlines():
        line = line.split(";")[0].split("#")[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            if key in PARAMETER_KEYS:
                found[PARAMETER_KEYS[key]] = value
            elif key in LAYER_KEYS and section:
                found.setdefault("layer_settings", {}).setdefault(section, {})[key] = value
    return found


def _typed(default, value):
    if isinstance(default, bool) and isinstance(value, str):
        return is_true_word(value)
    if default is None:     # an optional integer (OutputMapToRGBBinaryThresholdLow)
        return int(value)
    return type(default)(value)


def parameters(opts: dict) -> Parameters:
    """Export parameters: the file's (``export_parameters``), then the -X options given."""
    values = {}
    if opts.get("export_parameters"):
        values.update(read_parameters_file(str(opts["export_parameters"])))
    layer_settings = values.pop("layer_settings", {})
    defaults = Parameters()
    for field in PARAMETER_KEYS.values():
        if opts.get(field) not in (None, getattr(defaults, field)):
            values[field] = opts[field]
    keys = {field: key for key, field in PARAMETER_KEYS.items()}
    typed = {}
    for k, v in values.items():
        try:
            typed[k] = _typed(getattr(defaults, k), v)
        except ValueError as err:
            raise InputError(f"dneuro export parameter {keys[k]} (-X {k}): {err}") from None
    return replace(defaults, fifo_depth=int(opts.get("fifo_depth", 1)),
                   layer_settings=layer_settings, **typed)


_IDENTIFIER = re.compile(r"[A-Za-z](_?[A-Za-z0-9])*")
_TAKEN = {"dneuro_pkg", "dneuro_fifo", "network_tb", "entity", "architecture", "signal",
          "process", "begin", "end", "is", "in", "out", "port", "generic", "library", "use"}


def entity_name(name: str) -> str:
    """The Network parameter as the top-level entity name: a VHDL identifier that no
    generated unit uses (layer entities start with ``l_``)."""
    if not _IDENTIFIER.fullmatch(name) or name.lower() in _TAKEN or name.lower().startswith("l_"):
        raise UsageError(f"dneuro: Network = {name!r} is not a usable VHDL entity name "
                         "(letters, digits, single underscores; not a reserved word)")
    return name.lower()


def data_length(network: Network) -> int:
    streams = [network.input] + [layer.output for layer in network.layers]
    return 16 if any(s.dtype.itemsize == 2 for s in streams) else 8


def accumulator_length(network: Network, data_bits: int, requested: int) -> int:
    needed = {layer.name: signed_bits(-accumulator_bound(layer), accumulator_bound(layer))
              for layer in network.layers}
    widest = max(needed.values())
    if requested:
        short = [f"{name} ({bits})" for name, bits in needed.items() if bits > requested]
        if short:
            raise ResourceLimitError(
                f"dneuro: AccumulationNbBits = {requested} cannot hold the exact accumulator "
                f"of layer(s) {', '.join(short)} (bits needed); raise it to {widest}")
        return requested
    return max(2 * data_bits + 4, widest)


def pixel_lines(array: np.ndarray, channels: int) -> list[str]:
    """A [1, C, H, W] (or [1, C]) map as one line per pixel in raster order."""
    flat = np.asarray(array).reshape(channels, -1).T
    return [" ".join(str(int(v)) for v in row) for row in flat]


def simulate_streams(graph: Graph, network: Network, frames: int, seed: int):
    """Per frame: {stream name: integer array} of the input and of every layer's output."""
    from ...runtime import simulate
    values = {v.name: v for v in graph.values()}
    names = [network.input.name] + [layer.output.name for layer in network.layers]
    view = graph.view([values[n] for n in dict.fromkeys(names) if n in values])
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(frames):
        feeds = {v.name: random_input(rng, v) for v in graph.inputs}
        frame = dict(simulate(view, feeds))
        for layer in network.layers:     # the blocks without an IR op (OutputMapToRGB)
            if layer.output.name not in frame:
                frame[layer.output.name] = reference(layer, frame[layer.inputs[0].name])
        results.append(frame)
    return results


def write_project(graph: Graph, out_dir: Path, options: CompileOptions, opts: dict) -> None:
    verify(graph)
    params = parameters(opts)
    network = read_network(graph, graph.name)
    if params.output_map_to_rgb:
        add_rgb_output(network, params.output_map_to_rgb_color_masks,
                       params.output_map_to_rgb_background_class,
                       params.output_map_to_rgb_binary_threshold,
                       params.output_map_to_rgb_binary_threshold_low)
    if params.batch_size < 1 or int(opts["frames"]) % params.batch_size:
        raise UsageError(f"dneuro: the test frames ({opts['frames']}) must be a positive "
                         f"multiple of BatchSize ({params.batch_size})")
    dl = data_length(network)
    acc = accumulator_length(network, dl, params.accumulation_nb_bits)
    allocate(network, params, dl)
    est = estimate(network, params, dl)
    frames = int(opts["frames"])
    entity = entity_name(params.network)
    files = network_files(network, entity, dl, acc, frames,
                          timeout_cycles(est.cycles_per_frame, frames,
                                         network.input.pixels * frames), params.batch_size)
    sources = sorted(n for n in files if n.startswith("rtl/") and n != f"rtl/{entity}.vhd"
                     and n not in ("rtl/dneuro_pkg.vhd", "rtl/dneuro_fifo.vhd"))
    ordered = ["rtl/dneuro_pkg.vhd", "rtl/dneuro_fifo.vhd", *sources, f"rtl/{entity}.vhd"]
    emulator, emulator_flags = emulator_files(graph, network, entity, acc)
    files.update(emulator)
    files["Makefile"] = render("Makefile.j2", entity=entity, sources=" ".join(ordered),
                               emulator_flags=emulator_flags,
                               emulator_sources=" ".join(sorted(emulator)))
    files["estimation.txt"] = report_text(est, params)

    results = simulate_streams(graph, network, frames, int(opts["seed"]))
    inputs, expected = [], []
    per_layer: dict[str, list[str]] = {layer.name: [] for layer in network.layers}
    for frame in results:
        inputs += pixel_lines(frame[network.input.name], network.input.channels)
        expected += pixel_lines(frame[network.output.name], network.output.channels)
        for layer in network.layers:
            per_layer[layer.name] += pixel_lines(frame[layer.output.name],
                                                 layer.output.channels)
    files["stimuli/input.txt"] = "\n".join(inputs) + "\n"
    files["expected/output.txt"] = "\n".join(expected) + "\n"
    for layer in network.layers:
        files[f"expected/{file_stem(layer.name)}_output.txt"] = \
            "\n".join(per_layer[layer.name]) + "\n"
    manifest = {"backend": "dneuro", "entity": entity, "graph": graph.name, "frames": frames,
                "data_length": dl, "accumulation_nb_bits": acc,
                "parameters": vars(params), "estimate": est.as_dict(),
                "input": {"name": network.input.name, "channels": network.input.channels,
                          "height": network.input.height, "width": network.input.width,
                          "dtype": network.input.dtype.value},
                "output": {"name": network.output.name, "channels": network.output.channels,
                           "height": network.output.height, "width": network.output.width,
                           "dtype": network.output.dtype.value},
                "layers": [{"name": layer.name, "kind": layer.kind, "lanes": layer.lanes,
                            "file": f"{file_stem(layer.name)}_output.txt",
                            "channels": layer.output.channels} for layer in network.layers]}
    files["network.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    out_dir = Path(out_dir)
    for name, text in sorted(files.items()):
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
