"""Randomised window and slicing parameters, checked against onnxruntime.

The hand-written cases pin down each attribute; these catch the interactions
(stride x dilation x padding x auto_pad x ceil_mode) nobody thought of.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from n2d2c.errors import ShapeError
from n2d2c.frontend.onnx import load_onnx

from .harness import check_outputs, run_ort
from .single_node import C, X, single_node_model

# FUZZ_N=2000 for a longer hunt; derandomized so that CI runs are repeatable.
SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_N", 30)), deadline=None,
                    derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _compare(op, opset, inputs, **attrs):
    model, feeds = single_node_model(op, opset, inputs, **attrs)
    try:
        expected = run_ort(model, feeds)
    except Exception:  # onnxruntime refuses the combination too: nothing to compare
        return
    if op == "MaxPool" and np.any(expected[0] <= np.finfo(np.float32).min):
        return  # a window entirely in the padding: no defined maximum (ORT, ONNX differ)
    graph = load_onnx(model)
    problem = check_outputs(graph, feeds, expected)
    assert problem is None, (problem, attrs)


def _data(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


spatial = st.integers(1, 9)
small = st.integers(1, 3)
auto_pad = st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])


@SETTINGS
@given(h=spatial, w=spatial, k=st.tuples(small, small), s=st.tuples(small, small),
       d=st.tuples(small, small), p=st.tuples(*[st.integers(0, 2)] * 4), pad_mode=auto_pad,
       group=st.sampled_from([1, 2]), one_d=st.booleans())
def test_conv(h, w, k, s, d, p, pad_mode, group, one_d):
    shape, kernel = ((1, 2, w), k[1:]) if one_d else ((1, 2, h, w), k)
    n = len(kernel)
    if pad_mode.startswith("SAME"):
        d = (1, 1)  # onnxruntime refuses dilated SAME convolutions
    attrs = dict(strides=list(s[:n]), dilations=list(d[:n]), group=group, auto_pad=pad_mode)
    if pad_mode == "NOTSET":
        attrs["pads"] = list(p[:n]) + list(p[2:2 + n])
    weights = _data((4, 2 // group, *kernel), 1)
    try:
        _compare("Conv", 11, [X(_data(shape, 0)), C(weights), C(_data((4,), 2))], **attrs)
    except ShapeError:  # the kernel does not fit: onnxruntime refused it as well
        pass


@SETTINGS
@given(h=spatial, w=spatial, k=st.tuples(small, small), s=st.tuples(small, small),
       p=st.tuples(*[st.integers(0, 1)] * 4), out_pad=st.tuples(st.integers(0, 2),
                                                               st.integers(0, 2)),
       mode=st.sampled_from(["pads", "SAME_UPPER", "SAME_LOWER", "output_shape"]),
       extra=st.tuples(st.integers(-1, 1), st.integers(-1, 1)), group=st.sampled_from([1, 2]),
       d=st.tuples(small, small))
def test_conv_transpose(h, w, k, s, p, out_pad, mode, extra, group, d):
    out_pad = [min(o, max(st_, dd) - 1) for o, st_, dd in zip(out_pad, s, d)]  # < stride
    attrs = dict(strides=list(s), group=group, output_padding=out_pad, dilations=list(d))
    if mode == "pads":
        attrs["pads"] = list(p)
    elif mode == "output_shape":
        full = [s[i] * ((h, w)[i] - 1) + out_pad[i] + (k[i] - 1) * d[i] + 1 for i in range(2)]
        attrs["output_shape"] = [max(1, full[i] + extra[i]) for i in range(2)]
    else:
        # With a kernel smaller than the stride SAME asks for negative padding; the
        # ONNX reference then pads the end with zeros, onnxruntime shrinks the output.
        if any((a - 1) * dd + 1 < b for a, b, dd in zip(k, s, d)):
            return
        attrs["auto_pad"] = mode
    weights = _data((2, 3, *k), 1)
    try:
        _compare("ConvTranspose", 11, [X(_data((1, 2, h, w), 0)), C(weights)], **attrs)
    except Exception as exc:  # some output_shape choices need front padding: refused
        if "before the first result" not in str(exc) and not isinstance(exc, ShapeError):
            raise


@SETTINGS
@given(h=spatial, w=spatial, k=st.tuples(small, small), s=st.tuples(small, small),
       d=st.tuples(small, small), p=st.tuples(*[st.integers(0, 1)] * 4), pad_mode=auto_pad,
       ceil=st.booleans(), include=st.booleans(), op=st.sampled_from(["MaxPool",
                                                                        "AveragePool"]))
def test_pool(h, w, k, s, d, p, pad_mode, ceil, include, op):
    if pad_mode.startswith("SAME"):
        # A kernel smaller than the stride makes SAME's padding negative: n2d2c clamps
        # it to 0 like TensorFlow; onnxruntime shifts the windows.
        k = tuple(max(a, b) for a, b in zip(k, s))
    attrs = dict(kernel_shape=list(k), strides=list(s), auto_pad=pad_mode, ceil_mode=int(ceil))
    if pad_mode == "NOTSET":
        attrs["pads"] = [min(a, b - 1) for a, b in zip(p, k + k)]  # pads must be < kernel
    if op == "AveragePool":
        attrs["count_include_pad"] = int(include)
    elif not pad_mode.startswith("SAME"):
        # onnxruntime sizes SAME pooling windows without the dilation (the spec uses the
        # dilated window), so dilations are only compared without SAME.
        attrs["dilations"] = list(d)
        pads = attrs.get("pads", [0] * 4)
        if any((k[i] - 1) * d[i] + 1 > (h, w)[i] + pads[i] + pads[i + 2] for i in range(2)):
            return  # a window wider than the padded input: ill-formed, results differ
    try:
        _compare(op, 19 if op == "AveragePool" else 12, [X(_data((1, 2, h, w), 0))], **attrs)
    except ShapeError:
        pass


@SETTINGS
@given(dims=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6)),
       data=st.data())
def test_slice(dims, data):
    axes = data.draw(st.lists(st.integers(-3, 2), min_size=1, max_size=3,
                              unique_by=lambda a: a % 3))
    steps = [data.draw(st.sampled_from([-3, -2, -1, 1, 2, 3])) for _ in axes]
    # Huge bounds only in the direction of travel ("to the end"): onnxruntime reads
    # an end of INT64_MAX with a negative step as "to the front", unlike the spec.
    starts = [data.draw(st.integers(-8, 8) | st.just(2**63 - 1 if step < 0 else -2**63))
              for step in steps]
    ends = [data.draw(st.integers(-8, 8) | st.just(-2**63 if step < 0 else 2**63 - 1))
            for step in steps]
    inputs = [X(_data(dims, 0))] + [C(np.array(v, np.int64)) for v in (starts, ends, axes, steps)]
    _compare("Slice", 13, inputs)


@SETTINGS
@given(h=st.integers(1, 6), w=st.integers(1, 6),
       scales=st.tuples(st.sampled_from([0.5, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0]),
                        st.sampled_from([0.5, 0.75, 1.0, 1.3, 2.0, 3.0])),
       mode=st.sampled_from(["nearest", "linear"]),
       coords=st.sampled_from(["half_pixel", "pytorch_half_pixel", "align_corners",
                               "asymmetric", "half_pixel_symmetric"]),
       nearest=st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]),
       by_size=st.booleans())
def test_resize(h, w, scales, mode, coords, nearest, by_size):
    x = X(_data((1, 2, h, w), 0))
    if by_size:
        sizes = [1, 2, max(1, int(h * scales[0])), max(1, int(w * scales[1]))]
        inputs = [x, "", "", C(np.array(sizes, np.int64))]
    else:
        # With a fractional in*scale onnxruntime maps coordinates with out/in, the spec
        # (and n2d2c) with the given scale; compare only where the two coincide.
        if any(not float(n * np.float32(f)).is_integer() or n * f < 1
               for n, f in zip((h, w), scales)):
            return
        inputs = [x, "", C(np.array([1, 1, *scales], np.float32))]
    _compare("Resize", 19, inputs, mode=mode, coordinate_transformation_mode=coords,
             nearest_mode=nearest)
