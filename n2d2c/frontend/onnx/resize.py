"""Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9), nearest and linear.

The IR stores the static output shape and, separately, the per-axis scale used
to map output to input coordinates, because ONNX uses the given scale (not
output/input) when ``scales`` is the input.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import ops
from .params import normalize_axes
from .registry import converter


def _optional(ctx, i: int, what: str) -> np.ndarray | None:
    """An optional input; an empty tensor counts as absent (exporters use both)."""
    if not ctx.has(i):
        return None
    array = ctx.static(i, what)
    return None if array.size == 0 else array


def _legacy_nearest_mode(ctx, scales) -> str:
    """Upsample and Resize-10 round like onnxruntime: floor when enlarging, ceil when
    shrinking (asymmetric coordinates, so unscaled axes are unaffected)."""
    if all(s >= 1 for s in scales):
        return "floor"
    if all(s <= 1 for s in scales):
        return "ceil"
    raise ctx.unsupported("nearest resize that enlarges some axes and shrinks others "
                          "is not supported before opset 11")


def _legacy(ctx, shape, scales) -> None:
    """Upsample-7/9 and Resize-10: asymmetric mapping, output = floor(input * scale)."""
    mode = ctx.attr("mode", "nearest")
    mode = {"bilinear": "linear"}.get(mode, mode)
    if mode not in ("nearest", "linear"):
        raise ctx.unsupported(f"mode {mode!r} is not supported (nearest and linear are)")
    scales = [float(s) for s in np.asarray(scales, np.float32).reshape(-1)]
    if len(scales) != len(shape):
        raise ctx.shape_error(f"{len(scales)} scales for a rank-{len(shape)} input")
    sizes = tuple(int(math.floor(d * s)) for d, s in zip(shape, scales))
    nearest = _legacy_nearest_mode(ctx, scales) if mode == "nearest" else "round_prefer_floor"
    _emit(ctx, sizes, scales, mode, "asymmetric", nearest)


def _emit(ctx, sizes, scales, mode, coordinates, nearest) -> None:
    if any(d <= 0 for d in sizes):
        raise ctx.shape_error(f"resize to an empty shape {list(sizes)}")
    ctx.emit(ops.Resize(sizes=tuple(sizes), scales=tuple(float(s) for s in scales), mode=mode,
                        coordinate_transformation_mode=coordinates, nearest_mode=nearest),
             [ctx.value(0)])


@converter("Upsample", static=(1,))
def convert_upsample(ctx):
    scales = ctx.static(1, "scales") if ctx.opset >= 9 else ctx.attr("scales")
    if scales is None:
        raise ctx.shape_error("Upsample needs scales")
    _legacy(ctx, ctx.shape(0), scales)


@converter("Resize", static=(1, 2, 3))
def convert_resize(ctx):
    shape = ctx.shape(0)
    rank = len(shape)
    if ctx.opset < 11:
        _legacy(ctx, shape, ctx.static(1, "scales"))
        return
    mode = ctx.attr("mode", "nearest")
    if mode not in ops.Resize.MODES:
        raise ctx.unsupported(f"mode {mode!r} is not supported (only {list(ops.Resize.MODES)})")
    coordinates = ctx.attr("coordinate_transformation_mode", "half_pixel")
    if coordinates not in ops.Resize.COORDINATE_MODES:
        raise ctx.unsupported(f"coordinate_transformation_mode {coordinates!r} is not supported")
    nearest = ctx.attr("nearest_mode", "round_prefer_floor") if mode == "nearest" \
        else "round_prefer_floor"
    if nearest not in ops.Resize.NEAREST_MODES:
        raise ctx.unsupported(f"nearest_mode {nearest!r} is not supported")
    axes = normalize_axes(ctx, ctx.ints("axes") or range(rank), rank)
    given_scales = _optional(ctx, 2, "scales")
    given_sizes = _optional(ctx, 3, "sizes")
    if (given_scales is None) == (given_sizes is None):
        raise ctx.shape_error("exactly one of scales and sizes must be given")
    scales = [1.0] * rank
    sizes = list(shape)
    if given_scales is not None:
        values = given_scales.astype(np.float32).reshape(-1)
        if len(values) != len(axes):
            raise ctx.shape_error(f"{len(values)} scales for {len(axes)} axes")
        for axis, s in zip(axes, values):
            if s <= 0:
                raise ctx.shape_error(f"scale {float(s)} is not positive")
            scales[axis] = float(s)
            sizes[axis] = int(math.floor(shape[axis] * float(s)))
    else:
        wanted = [int(v) for v in given_sizes.reshape(-1)]
        if len(wanted) != len(axes):
            raise ctx.shape_error(f"{len(wanted)} sizes for {len(axes)} axes")
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        ratios = [w / shape[a] for a, w in zip(axes, wanted)]
        if policy == "stretch":
            for axis, w, r in zip(axes, wanted, ratios):
                scales[axis], sizes[axis] = r, w
        elif policy in ("not_larger", "not_smaller"):
            r = min(ratios) if policy == "not_larger" else max(ratios)
            for axis in axes:
                scales[axis] = r
                sizes[axis] = int(r * shape[axis] + 0.5)  # round half up, as the spec says
        else:
            raise ctx.unsupported(f"keep_aspect_ratio_policy {policy!r}")
    if ctx.attr("antialias", 0) and mode == "linear" and any(s < 1 for s in scales):
        raise ctx.unsupported("antialiased downsampling is not supported")
    _emit(ctx, sizes, scales, mode, coordinates, nearest)
