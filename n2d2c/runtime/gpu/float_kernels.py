"""Float kernels of the array-module simulator (see __init__.py): float32 storage,
products and sums through the array module (cuBLAS on the GPU)."""

from __future__ import annotations

import math

from ...ir import ops
from ...ir.ops.activation import activate
from . import array_kernel
from .windows import im2col, padded, window_args, windows


def _f32(xp, x):
    return xp.asarray(x, dtype=xp.float32)


@array_kernel(ops.Conv2d, fused_activation=True)
def conv2d(xp, op, x, w, b=None):
    out_shape = op.outputs[0].type.shape
    n, m, oh, ow = out_shape
    kernel = tuple(int(k) for k in w.shape[2:])
    g = int(op.group)
    cols = im2col(xp, op, _f32(xp, x), kernel, (oh, ow))                 # N G P K
    weights = _f32(xp, w).reshape(g, m // g, -1).transpose(0, 2, 1)      # G K M/G
    y = xp.matmul(cols, weights)                                         # N G P M/G
    y = y.transpose(0, 1, 3, 2).reshape(n, m, oh, ow)
    if b is not None:
        y = y + _f32(xp, b).reshape(1, m, 1, 1)
    return activate(xp, op, y)


def transposed_conv(xp, op, x, w, b, dtype):
    """ConvTranspose2d as scatter of one matrix product per kernel tap: input cell
    (ih, iw) adds x * w[tap] at (ih*s - pad + kh*d, iw*s - pad + kw*d), into a
    buffer as large as every tap reaches, then cropped to the result."""
    n, c, h, wd = x.shape
    g = int(op.group)
    _, m_g, kh_size, kw_size = w.shape
    m, oh, ow = op.outputs[0].type.shape[1:]
    sh, sw = (int(s) for s in op.strides)
    dh, dw = (int(d) for d in op.dilations)
    pt, pl = int(op.pads[0]), int(op.pads[1])
    full_h = (h - 1) * sh + (kh_size - 1) * dh + 1
    full_w = (wd - 1) * sw + (kw_size - 1) * dw + 1
    out = xp.zeros((n, g, m_g, max(full_h, pt + oh), max(full_w, pl + ow)), dtype)
    xg = x.astype(dtype).reshape(n, g, c // g, h * wd).transpose(0, 1, 3, 2)  # N G HW C/G
    wg = w.astype(dtype).reshape(g, c // g, m_g, kh_size, kw_size)
    for kh in range(kh_size):
        for kw in range(kw_size):
            tap = xp.matmul(xg, wg[:, :, :, kh, kw])                  # N G HW M/G
            tap = tap.transpose(0, 1, 3, 2).reshape(n, g, m_g, h, wd)
            out[:, :, :, kh * dh:kh * dh + (h - 1) * sh + 1:sh,
                kw * dw:kw * dw + (wd - 1) * sw + 1:sw] += tap
    y = out[:, :, :, pt:pt + oh, pl:pl + ow].reshape(n, m, oh, ow)
    return y if b is None else y + xp.asarray(b, dtype).reshape(1, m, 1, 1)


@array_kernel(ops.ConvTranspose2d, fused_activation=True)
def conv_transpose2d(xp, op, x, w, b=None):
    return activate(xp, op, transposed_conv(xp, op, x, w, b, xp.float32))


@array_kernel(ops.Gemm, fused_activation=True)
def gemm(xp, op, a, b, c=None):
    a, b = op.effective_operands(_f32(xp, a), _f32(xp, b))
    y = xp.matmul(a, b)
    if op.alpha != 1.0:
        y = y * xp.float32(op.alpha)
    if c is not None and op.beta != 0.0:
        y = y + xp.float32(op.beta) * _f32(xp, c)
    return activate(xp, op, y)


@array_kernel(ops.MatMul)
def matmul(xp, op, a, b):
    return xp.matmul(_f32(xp, a), _f32(xp, b))


@array_kernel(ops.BatchNorm)
def batch_norm(xp, op, x, scale, bias, mean, var):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    inv = (_f32(xp, scale) / xp.sqrt(_f32(xp, var) + xp.float32(op.epsilon))).reshape(shape)
    return (x - _f32(xp, mean).reshape(shape)) * inv + _f32(xp, bias).reshape(shape)


@array_kernel(ops.MaxPool2d)
def max_pool2d(xp, op, x):
    kernel, strides, dilations = window_args(op)
    out_hw = op.outputs[0].type.shape[2:]
    xpad = padded(xp, _f32(xp, x), out_hw, kernel, strides, dilations, op.pads, -math.inf)
    return windows(xp, xpad, out_hw, kernel, strides, dilations).max(axis=(4, 5))


def window_counts(xp, op, x_shape, out_hw, kernel, strides, dilations):
    """Elements each window averages: inside the input, or inside the declared pads
    too with count_include_pad (as the CPU kernels count them)."""
    h, w = x_shape[2:]
    top, left, bottom, right = (int(p) for p in op.pads)
    inside = xp.ones((1, 1, h, w), xp.float32)
    if op.count_include_pad:
        inside = xp.pad(inside, ((0, 0), (0, 0), (top, bottom), (left, right)),
                        mode="constant", constant_values=1.0)
        shifted = ops.AvgPool2d(pads=(0, 0, 0, 0))
        ones = padded(xp, inside, out_hw, kernel, strides, dilations, shifted.pads, 0.0)
        return windows(xp, ones, out_hw, kernel, strides, dilations).sum(axis=(4, 5))
    ones = padded(xp, inside, out_hw, kernel, strides, dilations, op.pads, 0.0)
    return windows(xp, ones, out_hw, kernel, strides, dilations).sum(axis=(4, 5))


@array_kernel(ops.AvgPool2d)
def avg_pool2d(xp, op, x):
    kernel, strides, dilations = window_args(op)
    out_hw = op.outputs[0].type.shape[2:]
    xpad = padded(xp, _f32(xp, x), out_hw, kernel, strides, dilations, op.pads, 0.0)
    total = windows(xp, xpad, out_hw, kernel, strides, dilations).sum(axis=(4, 5))
    count = window_counts(xp, op, x.shape, out_hw, kernel, strides, dilations)
    return xp.where(count > 0, total / xp.maximum(count, 1), 0).astype(xp.float32)


@array_kernel(ops.GlobalAvgPool)
def global_avg_pool(xp, op, x):
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)


@array_kernel(ops.GlobalMaxPool)
def global_max_pool(xp, op, x):
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


@array_kernel(ops.Softmax, ops.LogSoftmax)
def softmax(xp, op, x):
    axis = op.axis % x.ndim
    shifted = x - x.max(axis=axis, keepdims=True)
    e = xp.exp(shifted)
    total = e.sum(axis=axis, keepdims=True)
    if isinstance(op, ops.LogSoftmax):
        return shifted - xp.log(total)
    return e / total


# -- elementwise ---------------------------------------------------------------------
@array_kernel(ops.Add, fused_activation=True)
def add(xp, op, a, b):
    return activate(xp, op, xp.add(a, b))


BINARY = {ops.Sub: "subtract", ops.Mul: "multiply", ops.Div: "divide", ops.Max: "maximum",
          ops.Min: "minimum", ops.Pow: "power"}


@array_kernel(*BINARY)
def binary(xp, op, a, b):
    return getattr(xp, BINARY[type(op)])(a, b)


UNARY = {ops.Abs: "abs", ops.Neg: "negative", ops.Exp: "exp", ops.Log: "log",
         ops.Sqrt: "sqrt", ops.Floor: "floor", ops.Ceil: "ceil", ops.Tanh: "tanh",
         ops.Sign: "sign", ops.Reciprocal: "reciprocal"}


@array_kernel(*UNARY)
def unary(xp, op, x):
    return getattr(xp, UNARY[type(op)])(x)


@array_kernel(ops.Relu)
def relu(xp, op, x):
    return xp.maximum(x, x.dtype.type(0))


@array_kernel(ops.LeakyRelu)
def leaky_relu(xp, op, x):
    return xp.where(x < 0, x * x.dtype.type(op.alpha), x)


@array_kernel(ops.Clip)
def clip(xp, op, x):
    return xp.clip(x, op.min, op.max).astype(x.dtype)


@array_kernel(ops.PRelu)
def prelu(xp, op, x, slope):
    return xp.where(x < 0, x * slope, x)


@array_kernel(ops.Sigmoid)
def sigmoid(xp, op, x):
    return (1.0 / (1.0 + xp.exp(-x))).astype(x.dtype)


@array_kernel(ops.HardSigmoid)
def hard_sigmoid(xp, op, x):
    return xp.clip(x * x.dtype.type(op.alpha) + x.dtype.type(op.beta), 0, 1).astype(x.dtype)


@array_kernel(ops.HardSwish)
def hard_swish(xp, op, x):
    return (x * xp.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)).astype(x.dtype)


@array_kernel(ops.Swish)
def swish(xp, op, x):
    return (x / (1.0 + xp.exp(-x * x.dtype.type(op.alpha)))).astype(x.dtype)


@array_kernel(ops.LRN)
def lrn(xp, op, x):
    # Sum of squares over channels [c - floor((size-1)/2), c + ceil((size-1)/2)] (ONNX),
    # as a running sum along the channel axis.
    size = int(op.size)
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    squares = x.astype(xp.float64) ** 2
    padded_ = xp.pad(squares, [(0, 0), (before + 1, after)] + [(0, 0)] * (x.ndim - 2))
    running = xp.cumsum(padded_, axis=1)
    channels = x.shape[1]
    total = running[:, size:size + channels] - running[:, :channels]
    return (x / (op.bias + op.alpha / size * total) ** op.beta).astype(xp.float32)
