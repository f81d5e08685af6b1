"""Data-movement layers: Padding, Resize, Reshape, Transpose.

N2D2 writes dimensions innermost first (width, height, channels, batch), so
``Reshape Dims=W H C`` and ``Transpose Perm=...`` are given in that order and
converted to NCHW here.

* Padding: ``TopPadding``, ``BottomPadding``, ``LeftPadding``, ``RightPadding``
  (negative values crop); ``TopPad``/``BotPad``/``LeftPad``/``RightPad`` are
  accepted as aliases.  Zero padding.
* Resize to ``OutputWidth`` x ``OutputHeight``; ``Mode``: ``NearestNeighbor``
  (asymmetric coordinates, floor), ``Bilinear`` (half-pixel centres),
  ``BilinearTF`` (TensorFlow's: corners aligned when ``AlignCorners`` [1], else
  asymmetric).
* Reshape ``Dims`` (up to 3, a 4th batch value is ignored as N2D2 does): 0
  copies the input's size, -1 is inferred.
* Transpose ``Perm`` (4 values, N2D2's axis order).
"""

from __future__ import annotations

import numpy as np

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from . import layer

_PADDING_KEYS = (("TopPadding", "TopPad"), ("BottomPadding", "BotPad"),
                 ("LeftPadding", "LeftPad"), ("RightPadding", "RightPad"))


@layer("Padding", activation=False)
def padding(ctx: LayerContext) -> Value:
    props = ctx.props
    values = []
    for key, alias in _PADDING_KEYS:
        name = key if key in props or alias not in props else alias
        if name not in props:
            raise props.error(None, f"needs {key}")
        values.append(props.int(name))
    top, bottom, left, right = values
    x = ctx.concat_inputs()
    n, c, h, w = nchw(x)
    if h + top + bottom <= 0 or w + left + right <= 0:
        raise props.error(None, f"paddings (top {top}, bottom {bottom}, left {left}, right "
                                f"{right}) leave nothing of the {w}x{h} input")
    ctx.info["pads"] = dict(top=top, bottom=bottom, left=left, right=right)
    return ctx.emit(O.Pad(pads=(0, 0, top, left, 0, 0, bottom, right)), [x], "pad")


@layer("Resize", activation=False)
def resize(ctx: LayerContext) -> Value:
    props = ctx.props
    x = ctx.concat_inputs()
    n, c, h, w = nchw(x)
    out_h = props.positive("OutputHeight")
    out_w = props.positive("OutputWidth")
    mode = props.choice("Mode", ("Bilinear", "BilinearTF", "NearestNeighbor"))
    if mode == "NearestNeighbor":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                     nearest_mode="floor")
    elif mode == "Bilinear":
        attrs = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    else:
        aligned = props.bool("AlignCorners", True)
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners" if aligned
                     else "asymmetric")
    op = O.Resize(sizes=(n, c, out_h, out_w), scales=(1.0, 1.0, out_h / h, out_w / w), **attrs)
    return ctx.emit(op, [x], "resize")


@layer("Reshape", activation=False)
def reshape(ctx: LayerContext) -> Value:
    props = ctx.props
    x = ctx.concat_inputs(four_d=False)
    n, c, h, w = nchw(x)
    dims = props.list("Dims", item=int)
    if not 1 <= len(dims) <= 4:
        raise props.error("Dims", f"expects 1 to 4 values (width height channels), got "
                                  f"{len(dims)}")
    dims = (dims[:3] + [1, 1, 1])[:3]
    current = [w, h, c]
    if dims.count(-1) > 1:
        raise props.error("Dims", "at most one value may be -1")
    dims = [current[i] if d == 0 else d for i, d in enumerate(dims)]
    if any(d < -1 or d == 0 for d in dims):
        raise props.error("Dims", f"sizes must be positive, 0 (keep) or -1 (infer), got {dims}")
    known = int(np.prod([d for d in dims if d != -1]))
    total = c * h * w
    if -1 in dims:
        if known == 0 or total % known:
            raise props.error("Dims", f"cannot infer -1: {total} values per sample are not a "
                                      f"multiple of {known}")
        dims[dims.index(-1)] = total // known
    if int(np.prod(dims)) != total:
        raise props.error("Dims", f"{'x'.join(map(str, dims))} holds {int(np.prod(dims))} "
                                  f"values, the input has {total} per sample")
    out_w, out_h, out_c = dims
    return ctx.emit(O.Reshape(shape=(n, out_c, out_h, out_w)), [x], "reshape")


@layer("Transpose", activation=False)
def transpose(ctx: LayerContext) -> Value:
    props = ctx.props
    x = ctx.concat_inputs()
    perm = props.list("Perm", item=int)
    if sorted(perm) != [0, 1, 2, 3]:
        raise props.error("Perm", f"must be a permutation of 0 1 2 3 (width height channels "
                                  f"batch), got {' '.join(map(str, perm))}")
    # N2D2 axis i is NCHW axis 3 - i; output axis i takes input axis perm[i].
    nchw_perm = [0] * 4
    for i, p in enumerate(perm):
        nchw_perm[3 - i] = 3 - p
    return ctx.emit(O.Transpose(perm=tuple(nchw_perm)), [x], "transpose")
