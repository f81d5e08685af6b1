"""Strided window views shared by convolution and pooling (numpy and cupy alike)."""

from __future__ import annotations


def as_strided(xp, x, shape, strides):
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def reach(out_len: int, kernel: int, stride: int, dilation: int) -> int:
    """Input extent read by ``out_len`` windows."""
    return (out_len - 1) * stride + (kernel - 1) * dilation + 1


def padded(xp, x, out_hw, kernel, strides, dilations, pads, value):
    """``x`` [N, C, H, W] padded with ``value`` so that every output window of ``out_hw``
    reads inside: the declared begin pads, and at the end whatever the windows reach (ceil
    mode may reach past the declared end pads; fewer is never read).  Filled and copied
    into rather than ``xp.pad``, which is slower for the one constant."""
    top, left = int(pads[0]), int(pads[1])
    bottom = max(0, reach(out_hw[0], kernel[0], strides[0], dilations[0]) - x.shape[2] - top)
    right = max(0, reach(out_hw[1], kernel[1], strides[1], dilations[1]) - x.shape[3] - left)
    if not (top or left or bottom or right):
        return x
    out = xp.full((*x.shape[:2], x.shape[2] + top + bottom, x.shape[3] + left + right),
                  value, x.dtype)
    out[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
    return out


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
