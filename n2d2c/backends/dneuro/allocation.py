"""Parallelism allocation within the FPGA's DSPs and memory, and the per-layer estimate.

The pipeline runs at the pace of its slowest block.  A conv block multiplies with
``lanes`` output channels x ``channel_lanes`` input channels per cycle (a depthwise one
with ``lanes``), and, once every input channel is taken at once, ``tap_lanes`` taps of a
kernel row (a first conv with one input channel would otherwise bound the pipeline at
one cycle per tap; each tap lane costs a read port, i.e. a copy of the line buffer);
the allocation bisects the pace T (cycles per frame) for the smallest
one whose cheapest per-layer choices fit in ``NbDSPs``, and gives each layer the
fewest DSPs that keep it within T: a balanced pipeline, no DSP spent on a layer
faster than the bottleneck.  With a batch (G_BATCH_SIZE frames side by side) every
lane costs one multiplier per frame; the pace is that of one frame.  When even one lane
per layer exceeds ``NbDSPs``, or the line buffers and weights exceed
``NbMemoryBytes`` (which lanes cannot trade away), the export fails with
ResourceLimitError naming what is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...errors import ResourceLimitError, UsageError
from .hardware import cycles_per_frame, dsps, lane_count_limit, mac_multipliers, memory_bytes
from .layers import Layer, Network


@dataclass(frozen=True)
class Parameters:
    """DNeuro export parameters (N2D2's -export-parameters keys)."""

    nb_dsps: int = 64
    nb_memory_bytes: int = 0          # 0: no limit
    network: str = "network"
    estimation_frequency: float = 200.0   # MHz
    accumulation_nb_bits: int = 0     # 0: 2*data length + 4, widened to what is exact
    fifo_depth: int = 1
    batch_size: int = 1               # G_BATCH_SIZE: frames streamed side by side
    output_map_to_rgb: bool = False
    output_map_to_rgb_color_masks: str = ""
    output_map_to_rgb_background_class: int = -1
    output_map_to_rgb_binary_threshold: int = 0
    # None (not given): the plain threshold, as before the key existed (N2D2 says 0).
    output_map_to_rgb_binary_threshold_low: int | None = None
    # N2D2's per-layer debug keys: {layer name: {key: value}} (forced_choice reads them)
    layer_settings: dict = field(default_factory=dict)


def _initial_lanes(layer: Layer) -> int:
    # Blocks without multipliers take every channel at once: lanes cost comparators only.
    return 1 if layer.kind in ("conv", "depthwise") else lane_count_limit(layer)


def _fewest_for_each_count(total: int) -> list[int]:
    """For every distinct ``ceil(total / k)``, the smallest ``k`` giving it (O(sqrt n))."""
    found, k = [], 1
    while k <= total:
        found.append(k)
        blocks = math.ceil(total / k)
        if blocks == 1:
            break
        k = math.ceil(total / (blocks - 1))   # the first k with one block fewer
    return found


Choice = tuple[int, int, int]       # (lanes, channel lanes, tap lanes)


def _choices(layer: Layer) -> list[Choice]:
    """(lanes, channel lanes, tap lanes) worth considering for a layer: each saves a cycle
    per pixel over the ones with fewer multipliers.  Taps go parallel only once the input
    channels are all taken at once (a conv's, or a depthwise one's single channel)."""
    if layer.kind not in ("conv", "depthwise"):
        return [(_initial_lanes(layer), 1, 1)]
    channels = layer.inputs[0].channels if layer.kind == "conv" else 1
    lanes = _fewest_for_each_count(lane_count_limit(layer))
    found = [(p, q, 1) for p in lanes for q in _fewest_for_each_count(channels)]
    return found + [(p, channels, t) for p in lanes
                    for t in _fewest_for_each_count(layer.kernel[1])[1:]]


#: The per-layer debug keys that fix a part of the choice, and its index in Choice.
FORCING_KEYS = {"NbOutputsInstantiation": 0, "NbChannelsInstantiation": 1,
                "KernelWidthInstantiation": 2}


def forced_choice(layer: Layer, settings: dict[str, str]) -> tuple[int | None, ...]:
    """(lanes, channel lanes, tap lanes) the layer's debug keys fix (None: free), checked
    against what its block can instantiate."""
    name = f"dneuro: layer '{layer.name}'"
    if layer.kind not in ("conv", "depthwise"):
        raise UsageError(f"{name} is a {layer.kind} block: the per-layer keys "
                         f"({', '.join(sorted(settings))}) apply to conv blocks only")
    rtl = settings.get("RTLType")
    if rtl is not None and rtl.lower() != layer.kind:
        raise UsageError(f"{name}: RTLType = {rtl!r}, but n2d2c has one block per kind "
                         f"(this one: {layer.kind})")
    if settings.get("KernelHeightInstantiation", "1").strip() != "1":
        raise UsageError(f"{name}: KernelHeightInstantiation must be 1 (kernel rows are "
                         "looped, one per cycle); KernelWidthInstantiation sets the taps")
    limits = (lane_count_limit(layer),
              layer.inputs[0].channels if layer.kind == "conv" else 1, layer.kernel[1])
    forced: list[int | None] = [None, None, None]
    for key, index in FORCING_KEYS.items():
        if key in settings:
            try:
                value = int(settings[key])
            except ValueError:
                value = 0
            if not 1 <= value <= limits[index]:
                raise UsageError(f"{name}: {key} = {settings[key]!r} is not in 1 .. "
                                 f"{limits[index]}")
            forced[index] = value
    return tuple(forced)


def _set(layer: Layer, choice: Choice) -> None:
    layer.lanes, layer.channel_lanes, layer.tap_lanes = choice


def _cheapest(layer: Layer, target: int,
              options: list[Choice]) -> tuple[int, int, Choice] | None:
    """(DSPs, tap lanes, choice) of the fewest DSPs running ``layer`` within ``target``
    cycles per frame, then the fewest line-buffer copies (None: it cannot)."""
    best = None
    for choice in options:
        _set(layer, choice)
        if cycles_per_frame(layer) <= target:
            option = (dsps(layer), choice[2], choice)
            best = option if best is None or option < best else best
    return best


def _plan(network: Network, target: int,
          options: dict[str, list[Choice]]) -> list[tuple[int, int, Choice]] | None:
    plan = []
    for layer in network.layers:
        option = _cheapest(layer, target, options[layer.name])
        if option is None:
            return None
        plan.append(option)
    return plan


def _apply_layer_settings(network: Network, params: Parameters) -> dict[str, list[Choice]]:
    """The choices left to each layer that has debug keys (module doc of N2D2's keys)."""
    names = {layer.name: layer for layer in network.layers}
    unknown = sorted(set(params.layer_settings) - set(names))
    if unknown:
        raise UsageError(f"dneuro: per-layer settings for unknown layer(s) {', '.join(unknown)}"
                         f" (the layers: {', '.join(names)})")
    left = {}
    for name, settings in params.layer_settings.items():
        forced = forced_choice(names[name], settings)
        fits = [c for c in _choices(names[name])
                if all(f is None or f == v for f, v in zip(forced, c))]
        left[name] = fits or [tuple(1 if f is None else f for f in forced)]
    return left


def allocate(network: Network, params: Parameters, data_bits: int = 8) -> None:
    """Set every layer's lanes (module doc): the smallest cycles per frame T that the
    layers reach within NbDSPs, each layer with the fewest DSPs that runs within T."""
    for layer in network.layers:
        layer.batch = params.batch_size
    options = {layer.name: _choices(layer) for layer in network.layers}
    options.update(_apply_layer_settings(network, params))
    slowest = []
    fastest = []
    for layer in network.layers:
        cycles = []
        for choice in options[layer.name]:
            _set(layer, choice)
            cycles.append(cycles_per_frame(layer))
        slowest.append(max(cycles))
        fastest.append(min(cycles))
    low, high = max(fastest), max(slowest)
    cheapest = _plan(network, high, options)
    used = sum(option[0] for option in cheapest)
    if params.nb_dsps and used > params.nb_dsps:
        raise ResourceLimitError(
            f"dneuro: the network needs at least {used} DSPs (one lane per layer, and what "
            "the per-layer settings fix), "
            f"NbDSPs is {params.nb_dsps}")
    best = cheapest
    while low < high:           # fewer cycles need more DSPs: bisect the pace
        middle = (low + high) // 2
        plan = _plan(network, middle, options)
        if not params.nb_dsps or sum(option[0] for option in plan) <= params.nb_dsps:
            best, high = plan, middle
        else:
            low = middle + 1
    if low == high and best is not None:
        best = _plan(network, high, options)
    for layer, (_, _, choice) in zip(network.layers, best):
        _set(layer, choice)
    check_memory(network, params, data_bits)


def check_memory(network: Network, params: Parameters, data_bits: int = 8) -> None:
    if not params.nb_memory_bytes:
        return
    total = sum(sum(memory_bytes(layer, data_bits, params.fifo_depth))
                for layer in network.layers)
    if total > params.nb_memory_bytes:
        biggest = max(network.layers,
                      key=lambda layer: sum(memory_bytes(layer, data_bits, params.fifo_depth)))
        raise ResourceLimitError(
            f"dneuro: the network needs {total} bytes of on-chip memory (line buffers, "
            f"weights, FIFOs; the largest is layer '{biggest.name}'), NbMemoryBytes is "
            f"{params.nb_memory_bytes}")


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    kind: str
    lanes: int
    channel_lanes: int
    tap_lanes: int
    dsps: int
    macs: int
    weight_bytes: int
    calc_bytes: int
    cycles: int


@dataclass(frozen=True)
class Estimate:
    layers: tuple[LayerEstimate, ...]
    bottleneck: str
    cycles_per_frame: int
    fps: float
    total_dsps: int
    total_macs: int                   # of one frame
    mac_dsps: int
    batch: int = 1                    # frames side by side, each cycle count is per batch

    @property
    def dsp_utilisation(self) -> float:
        """MACs per cycle over the multipliers allocated to MACs, at the bottleneck's pace."""
        if not self.mac_dsps:
            return 0.0
        return self.batch * self.total_macs / self.cycles_per_frame / self.mac_dsps

    def as_dict(self) -> dict:
        return {"bottleneck": self.bottleneck, "cycles_per_frame": self.cycles_per_frame,
                "fps": self.fps, "dsps": self.total_dsps, "macs": self.total_macs,
                "batch": self.batch, "mac_dsps": self.mac_dsps,
                "dsp_utilisation": self.dsp_utilisation,
                "layers": [vars(layer) for layer in self.layers]}


def estimate(network: Network, params: Parameters, data_bits: int) -> Estimate:
    rows = []
    for layer in network.layers:
        weights, calc = memory_bytes(layer, data_bits, params.fifo_depth)
        rows.append(LayerEstimate(layer.name, layer.kind, layer.lanes, layer.channel_lanes,
                                  layer.tap_lanes, dsps(layer),
                                  layer.macs_per_frame, weights, calc,
                                  cycles_per_frame(layer)))
    slowest = max(rows, key=lambda r: r.cycles)
    mac_dsps = sum(mac_multipliers(layer) * layer.batch for layer in network.layers)
    batch = params.batch_size
    return Estimate(tuple(rows), slowest.name, slowest.cycles,
                    batch * params.estimation_frequency * 1e6 / slowest.cycles,
                    sum(r.dsps for r in rows), sum(r.macs for r in rows), mac_dsps, batch)


def report_text(est: Estimate, params: Parameters) -> str:
    lines = ["Estimated usage per layer:"]
    for r in est.layers:
        lines += [f"--{r.name}--", f"Block: {r.kind}, {r.lanes} lane(s) x {r.channel_lanes} "
                  f"input channel(s) x {r.tap_lanes} kernel tap(s) per cycle",
                  f"Number of MACs: {r.macs}", f"Number of affected DSPs: {r.dsps}"]
        if r.macs and r.lanes:
            lines.append(f"Number of MACs/DSPs: {r.macs // max(1, r.dsps)}")
        lines += [f"Memory for weights (bytes): {r.weight_bytes}",
                  f"Memory used for calculations (bytes): {r.calc_bytes}",
                  f"Cycles per frame: {r.cycles}", ""]
    weights = sum(r.weight_bytes for r in est.layers)
    calc = sum(r.calc_bytes for r in est.layers)
    lines += [f"Total number of MACs: {est.total_macs}",
              f"Total number of used DSPs: {est.total_dsps}",
              f"Total memory required for weights: {weights / 1024:.2f} KiB",
              f"Total memory required for calculations: {calc / 1024:.2f} KiB",
              f"Total memory required: {(weights + calc) / 1024:.2f} KiB",
              f"Bottleneck layer: {est.bottleneck} ({est.cycles_per_frame} cycles per frame"
              + (f", per batch of {est.batch} frames side by side)" if est.batch > 1 else ")"),
              f"DSP utilisation (MACs per cycle / MAC DSPs): {100 * est.dsp_utilisation:.1f} %",
              f"Estimated frames per second at {params.estimation_frequency:g} MHz: "
              f"{est.fps:.1f}"]
    if params.nb_dsps:
        lines.append(f"Available DSPs on FPGA: {params.nb_dsps}")
    if params.nb_memory_bytes:
        lines.append(f"Available memory on FPGA: {params.nb_memory_bytes / 1024:.2f} KiB")
    return "\n".join(lines) + "\n"
