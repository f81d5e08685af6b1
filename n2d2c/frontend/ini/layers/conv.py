"""``Conv`` and ``Deconv`` layers.

Output sizes follow N2D2 (``ConvCell``/``DeconvCell``), with symmetric padding
``P`` and kernel extent ``E = D * (K - 1) + 1``:

* Conv: ``floor((in + 2P - E) / S) + 1`` — the IR's conv2d rule with pads
  (P, P, P, P);
* Deconv: ``S * (in - 1) + E - 2P`` — the IR's conv_transpose2d with the same
  pads and no output padding.

The channel mapping (``Mapping.*``, see ``mapping.py``) becomes the conv's
``group`` when it is a grouped connection (``Mapping.ChannelsPerGroup=1`` is a
depthwise conv); any other partial mapping (LeNet's hand-written table) is kept
exactly by zeroing the weights of unconnected (output, channel) pairs.
Options N2D2 documents but n2d2c does not implement (3-D kernels,
``SubSample`` other than 1, ``WeightsSharing``) are refused with their key.
"""

from __future__ import annotations

import numpy as np

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from ..mapping import group_count, mapping_matrix
from . import layer
from .geometry import pair, window


def _common(ctx: LayerContext):
    props = ctx.props
    for key in ("WeightsSharing", "BiasesSharing"):
        if key in props:
            raise props.unsupported(key, "sharing parameters between layers is not supported")
    if pair(props, "SubSample", 1, minimum=1) != (1, 1):
        raise props.unsupported("SubSample", "output subsampling is not supported; use a Pool "
                                             "layer")
    kh, kw = window(props, "Kernel")
    strides = pair(props, "Stride", 1, minimum=1)
    pads = pair(props, "Padding", 0, minimum=0)
    dilations = pair(props, "Dilation", 1, minimum=1)
    outputs = ctx.nb_outputs()
    x = ctx.concat_inputs()
    mask = mapping_matrix(props, ctx.channels_of_inputs(), outputs,
                          stimuli=ctx.builder.stimuli_name)
    groups = group_count(mask)
    ctx.info.update(kernel=[kh, kw], strides=list(strides), pads=list(pads),
                    dilations=list(dilations), groups=groups or 1)
    if groups is None:
        ctx.info["mapping"] = "partial (weights of unconnected pairs are zero)"
    bias = not props.bool("NoBias", False)
    return x, mask, groups, (kh, kw), strides, pads, dilations, bias


@layer("Conv")
def conv(ctx: LayerContext) -> Value:
    x, mask, groups, kernel, strides, pads, dilations, bias = _common(ctx)
    g = groups or 1
    w, b = ctx.kernel_params(mask, kernel, bias=bias, transposed=False, groups=g)
    operands = [x, ctx.const(w, "weights")]
    if b is not None:
        operands.append(ctx.const(b, "biases"))
    op = O.Conv2d(strides=strides, pads=(pads[0], pads[1], pads[0], pads[1]),
                  dilations=dilations, group=g)
    _, _, h, wd = nchw(x)
    extent = [d * (k - 1) + 1 for d, k in zip(dilations, kernel)]
    if any(size + 2 * p < e for size, p, e in zip((h, wd), pads, extent)):
        raise ctx.props.error(None, f"kernel {kernel[1]}x{kernel[0]} (dilated to "
                                    f"{extent[1]}x{extent[0]}) does not fit the {wd}x{h} input "
                                    f"with padding {pads[1]}x{pads[0]}")
    return ctx.emit(op, operands, "conv")


@layer("Deconv")
def deconv(ctx: LayerContext) -> Value:
    x, mask, groups, kernel, strides, pads, dilations, bias = _common(ctx)
    g = groups or 1
    k, b = ctx.kernel_params(mask, kernel, bias=bias, transposed=True, groups=g)
    channels, outputs = mask.shape
    cg, og = channels // g, outputs // g
    # IR layout: W[C, M/g, kh, kw] with W[c, o'] the kernel from channel c to output o'.
    w = np.concatenate([k[i * og:(i + 1) * og].transpose(1, 0, 2, 3) for i in range(g)], axis=0) \
        if g > 1 else k.transpose(1, 0, 2, 3)
    assert w.shape[0] == channels and w.shape[1] == (og if g > 1 else outputs) and cg >= 1
    operands = [x, ctx.const(np.ascontiguousarray(w), "weights")]
    if b is not None:
        operands.append(ctx.const(b, "biases"))
    op = O.ConvTranspose2d(strides=strides, pads=(pads[0], pads[1], pads[0], pads[1]),
                           dilations=dilations, group=g)
    _, _, h, wd = nchw(x)
    for axis, size in enumerate((h, wd)):
        extent = dilations[axis] * (kernel[axis] - 1) + 1
        if strides[axis] * (size - 1) + extent - 2 * pads[axis] <= 0:
            raise ctx.props.error("Padding" if "Padding" in ctx.props else None,
                                  f"padding {pads[axis]} leaves no output along "
                                  f"{'height' if axis == 0 else 'width'}")
    return ctx.emit(op, operands, "deconv")
