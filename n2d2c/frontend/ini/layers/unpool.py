"""``Unpool`` layers: max unpooling through the switches of a ``Pool`` layer.

N2D2's ``UnpoolCell`` takes ``ArgMax=<pool layer>`` and writes each input value
at the position where that pool found its maximum, zeros elsewhere (its forward
pass is the pool's backward pass).  The pool layer is lowered as
``max_pool2d_with_indices`` when an Unpool names it (``argmax_wanted``), and the
unpooling becomes ``max_unpool2d`` reading those indices.

Facts from N2D2 this relies on:

* keys: ``ArgMax``, ``NbOutputs`` and ``Pooling`` are required; the window is
  ``PoolDims``/``PoolSize``/``PoolWidth``+``PoolHeight``, with ``Stride*`` and
  ``Padding*`` as in ``Pool`` layers; ``Mapping`` connects channels;
* output size ``in * S + K - 2P - S`` (``(in - 1) * S + K - 2P``), which may be
  smaller than the pool's input (the pool floors): positions past it are dropped;
* a value lands in output channel ``c`` only from input channel ``c`` (the switch
  records the channel), so a mapping matters only through its diagonal;
* overlapping windows that chose the same cell add up (a backward pass sums).

Only ``Pooling=Max`` is lowered (Average unpooling spreads values instead), and
only for one-to-one max pools of a single input, whose switches map to flat
indices one for one.
"""

from __future__ import annotations

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from ..mapping import mapping_matrix
from . import layer
from .geometry import pair, window

_GEOMETRY_KEYS = {
    "Pool": ("PoolDims", "PoolSize", "PoolWidth", "PoolHeight"),
    "Stride": ("StrideDims", "Stride", "StrideX", "StrideY"),
    "Padding": ("PaddingDims", "Padding", "PaddingX", "PaddingY"),
}


def argmax_wanted(ctx: LayerContext) -> bool:
    """Whether an ``Unpool`` layer of the file names layer ``ctx.name`` in ``ArgMax``."""
    doc, resolver = ctx.builder.doc, ctx.builder.resolver
    for section in doc:
        keys = section.properties
        if section.name == ctx.name or not all(k in keys for k in ("Input", "Type", "ArgMax")):
            continue
        if doc.get_str(section.name, "Type", resolver=resolver).strip() == "Unpool" and \
                doc.get_str(section.name, "ArgMax", resolver=resolver).strip() == ctx.name:
            return True
    return False


@layer("Unpool")
def unpool(ctx: LayerContext) -> Value:
    props = ctx.props
    x = ctx.as4d(ctx.single_input())
    switches = _switches(ctx, props.str("ArgMax"))
    pooling = props.choice("Pooling", ("Max", "Average"))
    if pooling != "Max":
        raise props.unsupported("Pooling", "average unpooling (spreading each value over its "
                                           "window) is not supported; only Max unpooling is")
    kernel = window(props, "Pool")
    strides = pair(props, "Stride", 1, minimum=1)
    pads = pair(props, "Padding", 0, minimum=0)
    pool_name = props.str("ArgMax")
    for what, mine, theirs in (("Pool", kernel, switches.kernel),
                               ("Stride", strides, switches.strides),
                               ("Padding", pads, switches.pads[:2])):
        if tuple(mine) != tuple(theirs):
            raise props.error(_key(props, what), f"{what.lower()} {_wh(mine)} differs from the "
                                                 f"{_wh(theirs)} of [{pool_name}], whose "
                                                 "switches (ArgMax) it reads")
    pool_in, pool_out = switches.inputs[0], switches.outputs[0]
    if x.shape != pool_out.shape:
        raise props.error("Input", f"the input is {_dims(x.shape)} but [{pool_name}]'s "
                                   f"switches (ArgMax) are {_dims(pool_out.shape)}")
    n, channels, height, width = nchw(pool_in)
    outputs = ctx.nb_outputs()
    if outputs != channels:
        raise props.error("NbOutputs", f"is {outputs}, but [{pool_name}] pools {channels} "
                                       "channels, which its switches (ArgMax) point into")
    mask = mapping_matrix(props, ctx.channels_of_inputs(), outputs,
                          stimuli=ctx.builder.stimuli_name, default_one_to_one=True)
    missing = [c for c in range(channels) if not mask[c, c]]
    if missing:
        raise props.unsupported(None, f"the mapping does not connect input channel {missing[0]} "
                                      f"to output {missing[0]}; only mappings that connect "
                                      "each channel to itself are supported")
    size = tuple((i - 1) * s + k - 2 * p
                 for i, s, k, p in zip(x.shape[2:], strides, kernel, pads))
    # Windows that overlap may pick the same cell twice; N2D2 then adds both values.
    attrs = dict(kernel=kernel, strides=strides, pads=(pads[0], pads[1], pads[0], pads[1]),
                 accumulate=any(k > s for k, s in zip(kernel, strides)))
    ctx.info.update(argmax=pool_name, kernel=list(kernel), strides=list(strides),
                    pads=list(pads))
    if size == (height, width):
        return ctx.emit(O.MaxUnpool2d(**attrs), [x, switches.outputs[1]], "unpool")
    # The pool floored its output: unpool onto its whole input (where the indices
    # point), then keep N2D2's smaller output.
    full = ctx.emit(O.MaxUnpool2d(output_shape=pool_in.shape, **attrs),
                    [x, switches.outputs[1]], "unpool")
    return ctx.emit(O.Slice(axes=(2, 3), starts=(0, 0), ends=size, steps=(1, 1)), [full],
                    "crop")


def _switches(ctx: LayerContext, pool_name: str) -> O.MaxPool2dWithIndices:
    """The ``max_pool2d_with_indices`` op of layer ``pool_name``, or a located error."""
    props, builder = ctx.props, ctx.builder
    info = builder.layers.get(pool_name)
    if info is None:
        if pool_name in builder.doc and "Input" in builder.doc.section(pool_name).properties:
            raise props.error("ArgMax", f"layer [{pool_name}] is built after [{ctx.name}]; "
                                        "an Unpool must come after the pool it reads")
        raise props.error("ArgMax", f"names '{pool_name}', which is not a layer of the network")
    if info["type"] != "Pool" or info.get("pooling") != "Max":
        kind = "an Average pool" if info["type"] == "Pool" else f"a {info['type']} layer"
        raise props.error("ArgMax", f"[{pool_name}] is {kind}; ArgMax must name a Pool layer "
                                    "with Pooling=Max")
    if "argmax_op" not in info:
        raise props.unsupported("ArgMax", f"[{pool_name}] reads several inputs or maps its "
                                          "channels (Mapping); only the switches of a "
                                          "one-to-one max pool of one input can be unpooled")
    return builder.graph.find_op(info["argmax_op"])


def _key(props, what: str) -> str | None:
    return next((k for k in _GEOMETRY_KEYS[what] if k in props), None)


def _wh(pair_hw) -> str:
    return f"{pair_hw[1]}x{pair_hw[0]}"


def _dims(shape) -> str:
    return "x".join(map(str, shape))
