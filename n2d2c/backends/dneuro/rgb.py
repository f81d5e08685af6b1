"""OutputMapToRGB: an extra block after the network that colours its class map.

Each output pixel's class becomes an RGB pixel (three u8 channels) from the colour
table ``OutputMapToRGBColorMasks`` (a list of ``RRGGBB`` hex colours; the default is a
fixed palette); the ``OutputMapToRGBBackgroundClass`` is transparent: (0, 0, 0).  The
class is the top-1 index of a multi-channel output (a top-1 block is added when the
network does not end with one), or, for a one-channel output that is not an index,
``value > OutputMapToRGBBinaryThreshold`` (a binary map).  With
``OutputMapToRGBBinaryThresholdLow`` given and below that (High) threshold, the binary map has
hysteresis, causal in raster order (what a streaming block decides with one line of
decisions): a value above High is foreground, one at most Low background, and one in
between foreground iff its left neighbour or the pixel above it (both decided already)
is.  Low >= High, or Low not given, is the plain threshold.  These blocks have no IR op: ``reference``
gives their expected output from the network output in numpy.
"""

from __future__ import annotations

import numpy as np

from ...errors import UsageError
from ...ir import DType
from .layers import Layer, Network, Stream

#: The default colours, class by class (repeats past its length).
PALETTE = ("ff0000", "00ff00", "0000ff", "ffff00", "ff00ff", "00ffff", "ff8000", "8000ff",
           "80ff00", "0080ff", "ff0080", "808080")


def parse_colors(text: str, classes: int) -> np.ndarray:
    """[classes, 3] u8 colours from ``RRGGBB`` entries separated by spaces or commas."""
    entries = text.replace(",", " ").split() or list(PALETTE)
    colors = []
    for entry in entries:
        digits = entry.lower().removeprefix("0x").removeprefix("#")
        if len(digits) != 6 or any(c not in "0123456789abcdef" for c in digits):
            raise UsageError(f"dneuro: OutputMapToRGBColorMasks entry {entry!r} is not an "
                             "RRGGBB hex colour")
        colors.append([int(digits[i:i + 2], 16) for i in (0, 2, 4)])
    return np.array([colors[k % len(colors)] for k in range(classes)], np.int64)


def add_rgb_output(network: Network, colors: str, background: int, threshold: int,
                   threshold_low: int | None = None) -> None:
    """Append the top-1 (if needed) and colouring blocks to ``network`` (module doc)."""
    out = network.output
    ends_with_index = network.layers[-1].kind == "top1"
    binary = out.channels == 1 and not ends_with_index
    if out.channels > 1:
        index = Stream(f"{out.name}.top1", 1, out.height, out.width, DType.U8)
        network.layers.append(Layer(f"{network.layers[-1].name}_top1", "top1", [out], index,
                                    ops=["OutputMapToRGB top-1"]))
        classes, out = out.channels, index
    else:
        classes = 2 if binary else network.layers[-1].inputs[0].channels
    table = parse_colors(colors, classes)
    if 0 <= background < classes:
        table[background] = 0
    rgb = Stream(f"{out.name}.rgb", 3, out.height, out.width, DType.U8)
    network.layers.append(Layer("output_map_to_rgb", "rgb", [out], rgb, table=table,
                                threshold=threshold if binary else None,
                                threshold_low=threshold_low if binary and threshold_low
                                is not None and threshold_low < threshold else None,
                                ops=["OutputMapToRGB"]))
    network.output = rgb


def reference(layer: Layer, x: np.ndarray) -> np.ndarray:
    """The expected output of a block without an IR op, [1, C, H, W] from [1, C', H, W]."""
    x = np.asarray(x).reshape(1, layer.inputs[0].channels, layer.output.height,
                              layer.output.width)
    if layer.kind == "top1":
        return np.argmax(x, axis=1)[:, None]
    if layer.threshold is None:
        index = x[:, 0].astype(np.int64)
    elif layer.threshold_low is None:
        index = (x[:, 0] > layer.threshold).astype(np.int64)
    else:
        index = hysteresis(x[0, 0], layer.threshold_low, layer.threshold)[None]
    return np.moveaxis(layer.table[index], -1, 1)


def hysteresis(values: np.ndarray, low: int, high: int) -> np.ndarray:
    """The binary map of [H, W] ``values`` with hysteresis (module doc), 0/1 int64."""
    height, width = values.shape
    fg = np.zeros((height, width), np.int64)
    for y in range(height):
        for x in range(width):
            v = values[y, x]
            near = (x > 0 and fg[y, x - 1]) or (y > 0 and fg[y - 1, x])
            fg[y, x] = v > high or (v > low and near)
    return fg
