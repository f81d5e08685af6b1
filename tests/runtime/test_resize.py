"""Resize (nearest / linear, every coordinate transformation) against onnxruntime."""

import math

import numpy as np
import pytest
from onnx import helper

from n2d2c.ir import ops

from ._harness import check, rand

COORD_MODES = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
               "asymmetric"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]

# (input shape, scales) -- ONNX computes sizes = floor(shape * scales)
SCALE_CASES = [
    ((1, 2, 4, 5), (1.0, 1.0, 2.0, 3.0)),
    ((1, 2, 6, 9), (1.0, 1.0, 0.5, 1 / 3)),
    ((2, 1, 5, 7), (1.0, 1.0, 1.5, 0.6)),
    ((1, 1, 3, 4), (1.0, 1.0, 2.5, 1.75)),
    ((1, 1, 7, 1), (1.0, 1.0, 0.3, 4.0)),
]
# (input shape, sizes) -- ONNX computes scales = sizes / shape
SIZE_CASES = [
    ((1, 2, 5, 5), (1, 2, 8, 3)),
    ((1, 1, 4, 6), (1, 1, 1, 9)),
    ((1, 3, 7, 3), (1, 3, 7, 5)),
]


def _run(x_shape, scales, sizes, use_sizes, **attrs):
    x = rand(*x_shape, seed=len(attrs))
    consts = {"roi": np.array([], np.float32)}
    if use_sizes:
        consts["sizes"] = np.array(sizes, np.int64)
        inputs = ["x", "roi", "", "sizes"]
    else:
        consts["scales"] = np.array(scales, np.float32)
        inputs = ["x", "roi", "scales"]
    node = helper.make_node("Resize", inputs, ["y"], **attrs)
    check(ops.Resize(sizes=tuple(sizes), scales=tuple(scales), **attrs), node, {"x": x},
          onnx_consts=consts)


def _cases():
    for shape, scales in SCALE_CASES:
        sizes = tuple(math.floor(d * np.float32(s)) for d, s in zip(shape, scales))
        yield shape, tuple(float(np.float32(s)) for s in scales), sizes, False
    for shape, sizes in SIZE_CASES:
        scales = tuple(float(np.float32(n) / np.float32(d)) for n, d in zip(sizes, shape))
        yield shape, scales, sizes, True


CASES = list(_cases())
CASE_IDS = [f"{'x'.join(map(str, c[0]))}->{'x'.join(map(str, c[2]))}{'(sizes)' if c[3] else ''}"
            for c in CASES]


@pytest.mark.parametrize("coord", COORD_MODES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_resize_linear(case, coord):
    shape, scales, sizes, use_sizes = case
    _run(shape, scales, sizes, use_sizes, mode="linear", coordinate_transformation_mode=coord)


@pytest.mark.parametrize("nearest", NEAREST_MODES)
@pytest.mark.parametrize("coord", COORD_MODES)
@pytest.mark.parametrize("case", CASES[:2] + CASES[3:4] + CASES[-2:], ids=CASE_IDS[:2] + CASE_IDS[3:4] + CASE_IDS[-2:])
def test_resize_nearest(case, coord, nearest):
    shape, scales, sizes, use_sizes = case
    _run(shape, scales, sizes, use_sizes, mode="nearest", coordinate_transformation_mode=coord,
         nearest_mode=nearest)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("shape,scales", [((4, 6), (2.0, 0.5)), ((3, 5), (1.0, 1.6))], ids=str)
def test_resize_rank2(shape, scales, mode):
    sizes = tuple(math.floor(d * s) for d, s in zip(shape, scales))
    _run(shape, scales, sizes, False, mode=mode)


def test_resize_nearest_channels_and_batch():
    # Scales on N and C take the generic (axis by axis) path.
    _run((2, 3, 4, 4), (0.5, 2.0, 1.0, 2.0), (1, 6, 4, 8), False, mode="nearest",
         coordinate_transformation_mode="asymmetric", nearest_mode="floor")


def test_resize_defaults():
    _run((1, 2, 3, 3), (1.0, 1.0, 2.0, 2.0), (1, 2, 6, 6), False)
