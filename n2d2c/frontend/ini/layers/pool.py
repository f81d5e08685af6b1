"""``Pool`` layers (max / average, with N2D2's channel mapping).

Output size: ``floor((in + 2P - K) / S) + 1`` (N2D2's ``PoolCell``), the IR's
rule without ceil mode.  A window that covers the whole (unpadded) input is a
global pooling.  Average pooling counts only input cells, not padding (N2D2's
documentation does not say; this is also ONNX's default).

Channel mapping: without any ``Mapping`` key a pool is one-to-one (the only
connection N2D2's CUDA pooling supports).  A mapping that sends exactly one
channel to each output (``Mapping.Size=1`` with offsets, as GoogLeNet and
SqueezeNet write their concatenations) is a channel gather followed by the
pooling; one where every output reads the same number ``k`` of channels (a
maxout, ``Mapping.SizeY=2 Mapping.StrideY=2``) pools every channel and then
takes the max (or the mean, for Average) of each output's ``k`` channels.

A one-to-one max pool of one input that an ``Unpool`` layer names in ``ArgMax``
keeps its switches: it is lowered as ``max_pool2d_with_indices`` (never as a
global pool), and ``info["argmax_op"]`` names that op for the unpooling.
"""

from __future__ import annotations

import numpy as np

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from ..mapping import mapping_matrix
from . import layer
from .geometry import pair, window
from .unpool import argmax_wanted


def gather_channels(ctx: LayerContext, x: Value, index: list[int], tag: str) -> Value:
    """``x[:, index]`` with slices of consecutive runs and a concat."""
    channels = nchw(x)[1]
    if index == list(range(channels)):
        return x
    runs: list[list[int]] = []
    for c in index:
        if runs and c == runs[-1][1]:
            runs[-1][1] = c + 1
        else:
            runs.append([c, c + 1])
    parts = [ctx.emit(O.Slice(axes=(1,), starts=(a,), ends=(b,), steps=(1,)), [x],
                      f"{tag}_{a}_{b}") for a, b in runs]
    return parts[0] if len(parts) == 1 else ctx.emit(O.Concat(axis=1), parts, tag)


@layer("Pool")
def pool(ctx: LayerContext) -> Value:
    props = ctx.props
    kh, kw = window(props, "Pool")
    strides = pair(props, "Stride", 1, minimum=1)
    pads = pair(props, "Padding", 0, minimum=0)
    pooling = props.choice("Pooling", ("Max", "Average"), "Max")
    x = ctx.concat_inputs()
    n, channels, h, w = nchw(x)
    outputs = ctx.nb_outputs(channels)
    mask = mapping_matrix(props, ctx.channels_of_inputs(), outputs,
                          stimuli=ctx.builder.stimuli_name, default_one_to_one=True)
    ctx.info.update(pooling=pooling, kernel=[kh, kw], strides=list(strides), pads=list(pads))
    if any(size + 2 * p < k for size, p, k in zip((h, w), pads, (kh, kw))):
        raise props.error(None, f"pooling window {kw}x{kh} does not fit the {w}x{h} input with "
                                f"padding {pads[1]}x{pads[0]}")
    per_output = mask.sum(axis=0)
    if (per_output == 0).any():
        raise props.error(None, f"output channel {int(np.argmin(per_output))} has no input "
                                "channel in the mapping")
    k = int(per_output[0])
    if not (per_output == k).all():
        raise props.unsupported(None, "pooling outputs that read different numbers of "
                                      "channels are not supported")
    switches = False
    if k == 1:
        index = [int(np.nonzero(mask[:, o])[0][0]) for o in range(outputs)]
        switches = (pooling == "Max" and len(ctx.inputs) == 1
                    and index == list(range(channels)) and argmax_wanted(ctx))
        x = gather_channels(ctx, x, index, "gather")
    if switches:
        return _with_indices(ctx, x, (kh, kw), strides, pads)
    y = _spatial(ctx, x, pooling, (kh, kw), strides, pads)
    if k > 1:
        # Maxout-style: each output combines k pooled channels.
        sources = [np.nonzero(mask[:, o])[0] for o in range(outputs)]
        parts = [gather_channels(ctx, y, [int(s[j]) for s in sources], f"maxout{j}")
                 for j in range(k)]
        combine = O.Max if pooling == "Max" else O.Add
        acc = parts[0]
        for j, part in enumerate(parts[1:], 1):
            acc = ctx.emit(combine(), [acc, part], f"combine{j}")
        if pooling == "Average":
            acc = ctx.emit(O.Mul(), [acc, ctx.const(np.array(1.0 / k, np.float32), "inv_k")],
                           "mean")
        y = acc
    return y


def _spatial(ctx, x, pooling, kernel, strides, pads) -> Value:
    _, _, h, w = nchw(x)
    if kernel == (h, w) and pads == (0, 0):
        op = O.GlobalMaxPool() if pooling == "Max" else O.GlobalAvgPool()
        ctx.info["global"] = True
        return ctx.emit(op, [x], "global_pool")
    attrs = dict(kernel=kernel, strides=strides, pads=(pads[0], pads[1], pads[0], pads[1]))
    op = O.MaxPool2d(**attrs) if pooling == "Max" else O.AvgPool2d(**attrs)
    return ctx.emit(op, [x], "pool")


def _with_indices(ctx, x, kernel, strides, pads) -> Value:
    op = O.MaxPool2dWithIndices(kernel=kernel, strides=strides,
                                pads=(pads[0], pads[1], pads[0], pads[1]),
                                name=f"{ctx.name}/pool")
    ctx.graph.add(op, [x], [op.name, f"{ctx.name}/argmax"])
    ctx.info["argmax_op"] = op.name
    return op.outputs[0]
