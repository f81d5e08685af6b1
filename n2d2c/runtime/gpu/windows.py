"""Strided window views shared by convolution and pooling (numpy and cupy alike)."""

from __future__ import annotations


def as_strided(xp, x, shape, strides):
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def padded(xp, x, out_hw, kernel, strides, dilations, pads, value):
    """``x`` [N, C, H, W] padded so that every output window of ``out_hw`` reads inside:
    the declared begin pads, and at the end whatever the windows reach (ceil mode may
    reach past the declared end pads; fewer is never read)."""
    top, left = int(pads[0]), int(pads[1])
    ends = []
    for axis in range(2):
        reach = (out_hw[axis] - 1) * strides[axis] + (kernel[axis] - 1) * dilations[axis] + 1
        ends.append(max(0, reach - x.shape[2 + axis] - (top, left)[axis]))
    widths = ((0, 0), (0, 0), (top, ends[0]), (left, ends[1]))
    if not any(a or b for a, b in widths):
        return x
    return xp.pad(x, widths, mode="constant", constant_values=value)


def windows(xp, x, out_hw, kernel, strides, dilations):
    """View [N, C, OH, OW, KH, KW] of the windows of a padded ``x``."""
    x = xp.ascontiguousarray(x)
    n, c = x.shape[:2]
    sn, sc, sh, sw = x.strides
    return as_strided(xp, x, (n, c, out_hw[0], out_hw[1], kernel[0], kernel[1]),
                      (sn, sc, sh * strides[0], sw * strides[1], sh * dilations[0],
                       sw * dilations[1]))


def window_args(op):
    kernel = tuple(int(k) for k in getattr(op, "kernel", ()) or ())
    return kernel, tuple(int(s) for s in op.strides), tuple(int(d) for d in op.dilations)


def im2col(xp, op, x, kernel, out_hw, value=0):
    """Columns [N, G, OH*OW, C/G*KH*KW] of conv ``op``'s input (zero padding)."""
    strides = tuple(int(s) for s in op.strides)
    dilations = tuple(int(d) for d in op.dilations)
    xpad = padded(xp, x, out_hw, kernel, strides, dilations, op.pads, value)
    view = windows(xp, xpad, out_hw, kernel, strides, dilations)  # N C OH OW KH KW
    n, c = x.shape[:2]
    g = int(op.group)
    view = view.reshape(n, g, c // g, out_hw[0], out_hw[1], kernel[0], kernel[1])
    cols = view.transpose(0, 1, 3, 4, 2, 5, 6)
    return cols.reshape(n, g, out_hw[0] * out_hw[1], (c // g) * kernel[0] * kernel[1])
