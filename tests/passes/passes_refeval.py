"""A small numpy evaluator for IR graphs, independent of n2d2c.runtime.

The pass tests compare a graph's outputs before and after a pass with it.  The
window ops (conv, transposed conv, pools) are written here from their ONNX
definitions and checked against onnxruntime in test_reference_eval.py; the
other ops reuse the fold-constants kernels (n2d2c.passes.numpy_eval).
"""

from __future__ import annotations

import numpy as np

from n2d2c.ir import Graph
from n2d2c.ir import ops as O
from n2d2c.ir.ops.shape_rules import window_output
from n2d2c.passes.numpy_eval import apply_activation, evaluate


def _taps(x, k, stride, dilation, out):
    """Slices of the (padded) spatial axis read by kernel tap 0..k-1."""
    return [slice(t * dilation, t * dilation + stride * (out - 1) + 1, stride) for t in range(k)]


def conv2d(op: O.Conv2d, x, w, b=None):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = op.group
    t, l, bo, r = op.pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, bo), (l, r)))
    oh = window_output(h, kh, op.strides[0], t, bo, op.dilations[0])
    ow = window_output(wd, kw, op.strides[1], l, r, op.dilations[1])
    y = np.zeros((n, g, m // g, oh, ow))
    wg = w.astype(np.float64).reshape(g, m // g, cg, kh, kw)
    for i, si in enumerate(_taps(xp, kh, op.strides[0], op.dilations[0], oh)):
        for j, sj in enumerate(_taps(xp, kw, op.strides[1], op.dilations[1], ow)):
            patch = xp[:, :, si, sj].reshape(n, g, cg, oh, ow)
            y += np.einsum("ngchw,gmc->ngmhw", patch, wg[:, :, :, i, j])
    y = y.reshape(n, m, oh, ow)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return apply_activation(op, y)


def conv_transpose2d(op: O.ConvTranspose2d, x, w, b=None):
    n, c, h, wd = x.shape
    _, mg, kh, kw = w.shape
    g = op.group
    (sh, sw), (dh, dw) = op.strides, op.dilations
    full_h = sh * (h - 1) + dh * (kh - 1) + 1 + op.output_padding[0]
    full_w = sw * (wd - 1) + dw * (kw - 1) + 1 + op.output_padding[1]
    y = np.zeros((n, g, mg, full_h, full_w))
    xg = x.astype(np.float64).reshape(n, g, c // g, h, wd)
    wg = w.astype(np.float64).reshape(g, c // g, mg, kh, kw)
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("ngchw,gcm->ngmhw", xg, wg[:, :, :, i, j])
            y[:, :, :, i * dh:i * dh + sh * (h - 1) + 1:sh, j * dw:j * dw + sw * (wd - 1) + 1:sw] \
                += contrib
    t, l, bo, r = op.pads
    y = y.reshape(n, g * mg, full_h, full_w)[:, :, t:full_h - bo, l:full_w - r]
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return apply_activation(op, y)


def pool2d(op, x):
    n, c, h, wd = x.shape
    kh, kw = op.kernel
    t, l, bo, r = op.pads
    oh = window_output(h, kh, op.strides[0], t, bo, op.dilations[0], op.ceil_mode)
    ow = window_output(wd, kw, op.strides[1], l, r, op.dilations[1], op.ceil_mode)
    # Extra cells past the end padding that ceil_mode windows may touch.
    ext_h = max(0, (oh - 1) * op.strides[0] + op.dilations[0] * (kh - 1) + 1 - (h + t + bo))
    ext_w = max(0, (ow - 1) * op.strides[1] + op.dilations[1] * (kw - 1) + 1 - (wd + l + r))
    widths = ((0, 0), (0, 0), (t, bo + ext_h), (l, r + ext_w))
    is_max = isinstance(op, O.MaxPool2d)
    xp = np.pad(x.astype(np.float64), widths, constant_values=-np.inf if is_max else 0.0)
    # Which cells count in an average: real ones, plus the pads if count_include_pad.
    real = np.pad(np.ones((h, wd)), widths[2:])
    counted = real if is_max or not op.count_include_pad else np.pad(
        np.ones((h + t + bo, wd + l + r)), ((0, ext_h), (0, ext_w)))
    acc = np.full((n, c, oh, ow), -np.inf) if is_max else np.zeros((n, c, oh, ow))
    count = np.zeros((oh, ow))
    for si in _taps(xp, kh, op.strides[0], op.dilations[0], oh):
        for sj in _taps(xp, kw, op.strides[1], op.dilations[1], ow):
            if is_max:
                acc = np.maximum(acc, xp[:, :, si, sj])
            else:
                acc += xp[:, :, si, sj]
                count += counted[si, sj]
    return acc if is_max else acc / count


_WINDOW = {
    O.Conv2d: conv2d,
    O.ConvTranspose2d: conv_transpose2d,
    O.MaxPool2d: pool2d,
    O.AvgPool2d: pool2d,
    O.GlobalAvgPool: lambda op, x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True),
    O.GlobalMaxPool: lambda op, x: x.max(axis=tuple(range(2, x.ndim)), keepdims=True),
}


def run_graph(graph: Graph, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Outputs of ``graph`` by name, computed in float64 for the window ops."""
    env = {id(v): np.asarray(feeds[v.name]) for v in graph.inputs}
    with np.errstate(all="ignore"):  # -inf pads may make nan/inf; both sides must agree
        _run_ops(graph, env)
    return {v.name: env[id(v)] for v in graph.outputs}


def _run_ops(graph: Graph, env: dict) -> None:
    for op in graph.ops:
        if isinstance(op, O.Constant):
            env[id(op.output)] = op.value
            continue
        args = [env[id(v)] for v in op.inputs]
        if type(op) in _WINDOW:
            results = [_WINDOW[type(op)](op, *args).astype(op.output.type.dtype.numpy)]
        else:
            results = evaluate(op, args)
            if results is None:
                raise NotImplementedError(f"reference evaluator has no kernel for {op.label}")
        for v, r in zip(op.outputs, results, strict=True):
            assert r.shape == v.type.shape, (op.label, r.shape, v.type.shape)
            env[id(v)] = r


def random_feeds(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {v.name: rng.standard_normal(v.type.shape).astype(v.type.dtype.numpy)
            for v in graph.inputs}
