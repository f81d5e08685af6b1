"""What each block needs in hardware: line-buffer rows, tables, widths, cycles, memory.

The RTL templates, the resource estimate and the emulator read these numbers from
one place, so the estimate describes the design that is generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .layers import Layer, Network, Stream

#: Pixels an output FIFO holds beyond G_FIFO_DEPTH: the taps in flight in the pipeline.
PIPELINE_SLACK = 3


def signed_bits(low: int, high: int) -> int:
    """Bits of the smallest two's-complement integer holding [low, high]."""
    bits = 1
    while not (-(1 << (bits - 1)) <= low and high <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


@dataclass(frozen=True)
class WindowGeometry:
    """The line buffer of a window block and the tables of its row loop."""

    ring_rows: int                  # rows the line buffer holds
    need: tuple[int, ...]           # last input row each output row reads
    low: tuple[int, ...]            # first input row still needed by each output row
    release: tuple[int, ...]        # rows freed after each output row (last: to frame end)


def window_geometry(layer: Layer) -> WindowGeometry:
    x = layer.inputs[0]
    kh = layer.kernel[0]
    need = tuple(min(x.height - 1, r + kh - 1) for r in layer.row_origin)
    low = tuple(max(0, r) for r in layer.row_origin)
    release = tuple(b - a for a, b in zip(low, low[1:])) + (x.height - low[-1],)
    window = max(n - lo + 1 for n, lo in zip(need, low))
    # Held rows: the window, or what the frame's tail leaves before the next frame starts;
    # plus the largest step, so that the next rows stream in while this row is computed.
    ring = max(window, release[-1]) + max(max(release), 1)
    return WindowGeometry(ring, need, low, release)


def channel_blocks(layer: Layer) -> int:
    """Cycles per tap: the input channels of a conv in blocks of ``channel_lanes``."""
    if layer.kind != "conv":
        return 1
    return math.ceil(layer.inputs[0].channels / layer.channel_lanes)


def column_blocks(layer: Layer) -> int:
    """Cycles per kernel row: its taps in blocks of ``tap_lanes``."""
    return math.ceil(layer.kernel[1] / layer.tap_lanes)


def taps_per_group(layer: Layer) -> int:
    """Cycles of one group of lanes for one output pixel."""
    return layer.kernel[0] * column_blocks(layer) * channel_blocks(layer)


def lane_count_limit(layer: Layer) -> int:
    """The most lanes a block can use: one per output channel."""
    return layer.output.channels


def groups(layer: Layer) -> int:
    return math.ceil(layer.output.channels / layer.lanes)


def cycles_per_frame(layer: Layer) -> int:
    """Clock cycles of one frame through this block alone (its own throughput): the tap
    loop of a window block, one beat per pixel elsewhere; at least one cycle per input
    and per output pixel."""
    beats = max(max(s.pixels for s in layer.inputs), layer.output.pixels)
    if not layer.is_window:
        return beats
    compute = layer.output.pixels * taps_per_group(layer) * groups(layer)
    return max(compute, beats)


def weight_bits(layer: Layer) -> int:
    if layer.weights is None:
        return 0
    return signed_bits(int(layer.weights.min()), int(layer.weights.max()))


def accumulator_bound(layer: Layer) -> int:
    """Largest magnitude the accumulator of ``layer`` can reach on any input (exact), and
    at least the rescale's input zero point (the RTL subtracts it in one more bit)."""
    zero_point = abs(layer.requant.in_zp) if layer.requant is not None else 0
    return max(_accumulator_bound(layer), zero_point)


def _accumulator_bound(layer: Layer) -> int:
    x = layer.inputs[0]
    big = max(abs(v) for v in x.bounds)
    if layer.kind in ("conv", "depthwise"):
        per_out = np.abs(layer.weights).reshape(layer.weights.shape[0], -1).sum(axis=1) * big
        return int((per_out + np.abs(layer.bias)).max())
    if layer.kind == "sum":
        return sum(max(abs(v) for v in s.bounds) for s in layer.inputs)
    return big


def rescale_input_bits(layer: Layer) -> int:
    """Bits of the largest ``|a - in_zp|`` the rescale of ``layer`` can see (unsigned)."""
    zero_point = abs(layer.requant.in_zp) if layer.requant is not None else 0
    return max(1, (_accumulator_bound(layer) + zero_point).bit_length())


#: DSP48E1 (the yosys synth_xilinx target): a signed 25 x 18 multiplier, so an unsigned
#: product of up to 24 x 17 bits.
DSP_UNSIGNED_WIDTHS = (24, 17)


def rescale_dsps(layer: Layer) -> int:
    """DSPs of one lane's rescale product: the unsigned VB x (MB-1)-bit product the RTL
    builds (requant.vhd.j2), in tiles of the DSP's unsigned widths (the better of the
    two orientations), as yosys' synth_xilinx splits a wider one."""
    mb = requant_mult_bits(layer)
    if not mb:
        return 0
    a, b = rescale_input_bits(layer), mb - 1
    wide, narrow = DSP_UNSIGNED_WIDTHS
    return min(math.ceil(a / wide) * math.ceil(b / narrow),
               math.ceil(b / wide) * math.ceil(a / narrow))


def requant_mult_bits(layer: Layer) -> int:
    """Bits of the rescale multiplier (0: every channel multiplies by 1, no multiplier)."""
    if layer.requant is None or np.all(layer.requant.mult == 1):
        return 0
    return signed_bits(0, int(layer.requant.mult.max()))


def dsps(layer: Layer) -> int:
    """Multipliers of the block: one per MAC lane, the rescale_dsps of each lane's rescale
    product, each once per frame of the batch."""
    mac = mac_multipliers(layer)
    rescale_lanes = layer.lanes if layer.is_window else layer.output.channels
    return layer.batch * (mac + rescale_lanes * rescale_dsps(layer))


def mac_multipliers(layer: Layer) -> int:
    """Multipliers of the MAC lanes of one frame: lanes x input channels x kernel taps."""
    if layer.kind not in ("conv", "depthwise"):
        return 0
    return layer.lanes * layer.channel_lanes * layer.tap_lanes


def memory_bytes(layer: Layer, data_bits: int, fifo_depth: int) -> tuple[int, int]:
    """(weights, calculation) bytes: the weight ROM (shared by the batch); the line buffer
    and the output FIFO (one pixel of each frame of the batch per word)."""
    data_bits *= layer.batch
    fifo = (fifo_depth + PIPELINE_SLACK) * layer.output.channels * data_bits
    if not layer.is_window:
        # OutputMapToRGB's hysteresis: a line of decisions and the left one, per frame.
        decisions = 0 if layer.threshold_low is None else (layer.output.width + 1) * layer.batch
        return 0, math.ceil((fifo + decisions) / 8)
    x = layer.inputs[0]
    # one copy of the line buffer per read port (tap lane)
    lines = window_geometry(layer).ring_rows * x.width * x.channels * data_bits * \
        layer.tap_lanes
    weights = 0 if layer.weights is None else layer.weights.size * weight_bits(layer)
    return math.ceil(weights / 8), math.ceil((lines + fifo) / 8)


def fork_fifo_depth(network: Network, stream: Stream) -> int:
    """Depth of the FIFO on each branch of a stream read by several layers: the pixels the
    longest branch can absorb before it emits the pixel its sibling waits for (a residual
    block's skip path), so that the fork never stalls both branches at once."""
    total = 0
    frontier = [layer for layer in network.consumers(stream)]
    seen: set[int] = set()
    while frontier:
        layer = frontier.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        x = layer.inputs[0]
        scale = stream.pixels / max(1, x.pixels)
        held = window_geometry(layer).ring_rows * x.width if layer.is_window else 0
        total += math.ceil((held + x.width) * scale) + 4
        if len(layer.inputs) == 1:      # a merge is where the branches meet again
            frontier.extend(network.consumers(layer.output))
    return max(4, total)
