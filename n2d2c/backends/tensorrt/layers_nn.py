"""Handlers of the network layers: convolutions, matrix products, normalisation,
pooling, softmax and reductions (see layers.py)."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir.ops.shape_rules import normalize_axis
from .layers import NetworkWriter, cfloat, cstr, fused, handles


def _pads(pads) -> tuple[str, str]:
    """IR pads [top, left, bottom, right] -> TensorRT pre / post padding dims."""
    half = len(pads) // 2
    return ("dims({" + ", ".join(map(str, pads[:half])) + "})",
            "dims({" + ", ".join(map(str, pads[half:])) + "})")


def _dims(values) -> str:
    return "dims({" + ", ".join(str(int(v)) for v in values) + "})"


def _bias_file(w: NetworkWriter, op) -> str:
    return cstr(w.file(op.inputs[2])) if len(op.inputs) > 2 else '""'


@handles("conv2d")
def _conv(w: NetworkWriter, op):
    x, weight = op.inputs[0], op.inputs[1]
    pre, post = _pads(op.pads)
    call = (f"b.conv({w.tensor(x)}, {cstr(x.name)}, {w.label(op)}, {weight.shape[0]}, "
            f"{_dims(weight.shape[2:])}, {cstr(w.file(weight))}, {_bias_file(w, op)}, "
            f"{_dims(op.strides)}, {pre}, {post}, {_dims(op.dilations)}, {op.group})")
    w.result(op, fused(w, op, call))


@handles("conv_transpose2d")
def _deconv(w: NetworkWriter, op):
    x, weight = op.inputs[0], op.inputs[1]
    # output_padding extends the end of the output: less padding removed there.
    half = len(op.pads) // 2
    ends = [p - extra for p, extra in zip(op.pads[half:], op.output_padding)]
    if any(e < 0 for e in ends):
        raise UnsupportedError(f"{op.label}: output_padding beyond the end pads is not "
                               "mapped to TensorRT")
    pre, post = _pads(tuple(op.pads[:half]) + tuple(ends))
    call = (f"b.deconv({w.tensor(x)}, {w.label(op)}, {weight.shape[1] * op.group}, "
            f"{_dims(weight.shape[2:])}, {cstr(w.file(weight))}, {_bias_file(w, op)}, "
            f"{_dims(op.strides)}, {pre}, {post}, {_dims(op.dilations)}, {op.group})")
    w.result(op, fused(w, op, call))


@handles("batch_norm")
def _batch_norm(w: NetworkWriter, op):
    # y = (x - mean) / sqrt(var + eps) * gamma + beta as one per-channel scale + shift.
    gamma, beta, mean, var = (w.graph.constant_value(v) for v in op.inputs[1:5])
    if any(a is None for a in (gamma, beta, mean, var)):
        raise UnsupportedError(f"{op.label}: batch_norm with non-constant statistics")
    scale = (gamma / np.sqrt(var.astype(np.float64) + op.epsilon)).astype(np.float32)
    shift = (beta - mean * scale).astype(np.float32)
    files = [w.extra_file(f"{op.label}.shift", shift), w.extra_file(f"{op.label}.scale", scale)]
    w.result(op, f"b.scaleChannels({w.tensor(op.inputs[0])}, {cstr(files[0])}, "
                 f"{cstr(files[1])}, {w.label(op)})")


@handles("gemm")
def _gemm(w: NetworkWriter, op):
    a, b = op.inputs[0], op.inputs[1]
    y = (f"b.matmul({w.tensor(a)}, {cstr(a.name)}, {w.label(op)}, {w.tensor(b)}, "
         f"{str(op.trans_a).lower()}, {str(op.trans_b).lower()}, {cfloat(op.alpha)})")
    if len(op.inputs) > 2:
        c = w.tensor(op.inputs[2])
        if op.beta != 1.0:
            c = (f"b.binary({c}, b.scalar({cfloat(op.beta)}, {op.inputs[2].type.rank}), "
                 f"ElementWiseOperation::kPROD, {w.label(op)})")
        y = f"b.binary({y}, {c}, ElementWiseOperation::kSUM, {w.label(op)})"
    w.result(op, fused(w, op, y))


@handles("matmul")
def _matmul(w: NetworkWriter, op):
    # A 1-D operand is a row (left) or a column (right), dropped again from the result.
    a, b = op.inputs
    label = w.label(op)
    ta, tb = w.tensor(a), w.tensor(b)
    if a.type.rank == 1:
        ta = f"b.reshape({ta}, {_dims((1, a.shape[0]))}, {label})"
    if b.type.rank == 1:
        tb = f"b.reshape({tb}, {_dims((b.shape[0], 1))}, {label})"
    y = f"b.matmul({ta}, {cstr(a.name)}, {label}, {tb}, false, false, 1.0f)"
    if a.type.rank == 1 or b.type.rank == 1:
        y = f"b.reshape({y}, {w.out_dims(op.outputs[0])}, {label})"
    w.result(op, y)


@handles("max_pool2d", "avg_pool2d")
def _pool(w: NetworkWriter, op):
    if any(d != 1 for d in op.dilations):
        raise UnsupportedError(f"{op.label}: dilated pooling is not mapped to TensorRT")
    kind = "kMAX" if op.OP_NAME == "max_pool2d" else "kAVERAGE"
    exclude = "true" if not getattr(op, "count_include_pad", False) else "false"
    pre, post = _pads(op.pads)
    w.result(op, f"b.pool({w.tensor(op.inputs[0])}, PoolingType::{kind}, {_dims(op.kernel)}, "
                 f"{_dims(op.strides)}, {pre}, {post}, {str(op.ceil_mode).lower()}, {exclude}, "
                 f"{w.label(op)})")


@handles("global_avg_pool", "global_max_pool")
def _global_pool(w: NetworkWriter, op):
    kind = "kAVG" if op.OP_NAME == "global_avg_pool" else "kMAX"
    rank = op.inputs[0].type.rank
    mask = sum(1 << axis for axis in range(2, rank))
    w.result(op, f"b.reduce({w.tensor(op.inputs[0])}, ReduceOperation::{kind}, {mask}u, true, "
                 f"{w.label(op)})")


@handles("lrn")
def _lrn(w: NetworkWriter, op):
    w.result(op, f"b.lrn({w.tensor(op.inputs[0])}, {op.size}, {cfloat(op.alpha)}, "
                 f"{cfloat(op.beta)}, {cfloat(op.bias)}, {w.label(op)})")


@handles("softmax", "log_softmax")
def _softmax(w: NetworkWriter, op):
    x = op.inputs[0]
    axis = normalize_axis(op, op.axis, x.type.rank)
    y = f"b.softmax({w.tensor(x)}, {axis}, {w.label(op)})"
    if op.OP_NAME == "log_softmax":
        y = f"b.unary({y}, UnaryOperation::kLOG, {w.label(op)})"
    w.result(op, y)


REDUCTIONS = {"reduce_sum": "kSUM", "reduce_mean": "kAVG", "reduce_max": "kMAX",
              "reduce_min": "kMIN", "reduce_prod": "kPROD", "reduce_l1": "kSUM",
              "reduce_l2": "kSUM", "reduce_sum_square": "kSUM", "reduce_log_sum": "kSUM",
              "reduce_log_sum_exp": "kSUM"}


@handles(*REDUCTIONS)
def _reduce(w: NetworkWriter, op):
    x = op.inputs[0]
    rank = x.type.rank
    axes = op.axes or tuple(range(rank))
    mask = sum(1 << normalize_axis(op, a, rank) for a in axes)
    label = w.label(op)
    t = w.tensor(x)
    # Before the sum: |x|, x^2 or exp(x); after it: sqrt or log.
    if op.OP_NAME == "reduce_l1":
        t = f"b.unary({t}, UnaryOperation::kABS, {label})"
    elif op.OP_NAME in ("reduce_l2", "reduce_sum_square"):
        t = f"b.binary({t}, {t}, ElementWiseOperation::kPROD, {label})"
    elif op.OP_NAME == "reduce_log_sum_exp":
        t = f"b.unary({t}, UnaryOperation::kEXP, {label})"
    y = (f"b.reduce({t}, ReduceOperation::{REDUCTIONS[op.OP_NAME]}, {mask}u, "
         f"{str(bool(op.keepdims)).lower()}, {label})")
    if op.OP_NAME == "reduce_l2":
        y = f"b.unary({y}, UnaryOperation::kSQRT, {label})"
    elif op.OP_NAME in ("reduce_log_sum", "reduce_log_sum_exp"):
        y = f"b.unary({y}, UnaryOperation::kLOG, {label})"
    w.result(op, y)


@handles("argmax", "argmin")
def _arg(w: NetworkWriter, op):
    x = op.inputs[0]
    axis = normalize_axis(op, op.axis, x.type.rank)
    kind = "kMAX" if op.OP_NAME == "argmax" else "kMIN"
    label, keep = w.label(op), str(bool(op.keepdims)).lower()
    t = w.tensor(x)
    if not op.select_last_index:
        w.result(op, f"b.topkIndex({t}, TopKOperation::{kind}, {axis}, {keep}, {label})")
        return
    # The last extreme is the first one of the reversed axis: index = n - 1 - that.
    last = x.shape[axis] - 1
    start = [last if a == axis else 0 for a in range(x.type.rank)]
    stride = [-1 if a == axis else 1 for a in range(x.type.rank)]
    reversed_ = (f"b.slice({t}, {_dims(start)}, {w.dims(x.shape, w.batch.is_batched(x))}, "
                 f"{_dims(stride)}, SampleMode::kSTRICT_BOUNDS, 0.0f, {label})")
    rank = op.outputs[0].type.rank
    file = w.extra_file(f"{op.label}.last", np.full((1,) * rank, last, np.int64))
    top = f"b.topkIndex({reversed_}, TopKOperation::{kind}, {axis}, {keep}, {label})"
    w.result(op, f"b.binary(b.constant({cstr(file)}, {_dims((1,) * rank)}, DataType::kINT64), "
                 f"{top}, ElementWiseOperation::kSUB, {label})")
