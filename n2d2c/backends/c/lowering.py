"""Per-op lowering: each IR op class becomes kernel calls on views (see program.py)."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir import ops
from ...ir.integer import resize_weights
from ...passes.fuse_batchnorm import bn_affine
from .program import ACTIVATIONS, KernelCall, Lowering, describe, lowers
from .resize import resize_axis_linear, resize_axis_nearest
from .views import View


def _comment(op, act=None, result=None, extra: str = "") -> str:
    ins = ", ".join(describe(v) for v in op.inputs
                    if not isinstance(v.producer, ops.Constant))
    outs = ", ".join(describe(v) for v in ([result] if result is not None else op.outputs))
    text = f"{op.OP_NAME} {ins} -> {outs}" if ins else f"{op.OP_NAME} -> {outs}"
    if extra:
        text += f" ({extra})"
    if act is not None:
        text += f", fused {act}"
    return text


def _float_only(op) -> None:
    """Ops the quantized IR does not define on integers (see ir/ops/quant.py)."""
    for v in (*op.inputs, *op.outputs):
        if not v.type.dtype.is_float:
            raise UnsupportedError(f"{op.label}: '{op.OP_NAME}' on integer tensors (%{v.name} is "
                                   f"{v.type.dtype.value}) is not part of the quantized IR",
                                   hint="dequantize before this op")


def _is_integer(value) -> bool:
    return value.type.dtype.is_integer


# -- element-wise ------------------------------------------------------------------

@lowers(*ACTIVATIONS)
def lower_activation(low: Lowering, op) -> None:
    if not isinstance(op, (ops.Relu, ops.Clip)):
        _float_only(op)
    x = low.view(op.inputs[0])
    act = ACTIVATIONS[type(op)](op)
    low.begin("op", op.name, _comment(op), op)
    y = low.output(op.output, like=x)
    low.emit(KernelCall("map", {"a": x}, {"y": y}, {"fn": "identity", "act": act}))


@lowers(ops.Identity, ops.Dropout)
def lower_identity(low: Lowering, op) -> None:
    low.begin("op", op.name, _comment(op, extra="no code: the result aliases the operand"), op)
    low.alias(op.output, low.view(op.inputs[0]))


@lowers(ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Max, ops.Min, ops.PRelu, ops.Pow)
def lower_binary(low: Lowering, op) -> None:
    if not isinstance(op, (ops.Add, ops.Sub, ops.Mul, ops.Max, ops.Min)):
        _float_only(op)
    a, b = low.view(op.inputs[0]), low.view(op.inputs[1])
    shape = op.output.shape
    low.begin("op", op.name, "", op)
    act, result = low.epilogue(op)
    low.current.comment = _comment(op, act, result)
    like = a if a.shape == shape else b
    y = low.output(result, like=like)
    low.emit(KernelCall("map", {"a": a.broadcast_to(shape), "b": b.broadcast_to(shape)},
                        {"y": y}, {"fn": op.OP_NAME, "act": act}))


@lowers(ops.BatchNorm)
def lower_batchnorm(low: Lowering, op) -> None:
    _float_only(op)
    x = low.view(op.inputs[0])
    shape = op.output.shape
    low.begin("op", op.name, "", op)
    act, result = low.fused_activation(op.output)
    low.current.comment = _comment(op, act, result)
    y = low.output(result, like=x)
    channel_shape = (shape[1],) + (1,) * (len(shape) - 2)
    affine = bn_affine(low.graph, op)  # constant parameters: only when lowered unfused
    if affine is not None:
        scale, shift = (v.astype(np.float32).reshape(channel_shape) for v in affine)
        s = low.const_array(f"{op.name}_scale", scale)
        t = low.const_array(f"{op.name}_shift", shift)
        low.emit(KernelCall("map", {"a": x, "b": s.broadcast_to(shape), "c": t.broadcast_to(shape)},
                            {"y": y}, {"fn": "affine", "act": act}))
    else:
        reads = {"a": x}
        for role, v in zip("bcde", op.inputs[1:]):
            view = low.view(v)
            reads[role] = View(view.storage, view.offset, channel_shape,
                               (view.strides[0],) + (0,) * (len(shape) - 2)).broadcast_to(shape)
        low.emit(KernelCall("map", reads, {"y": y},
                            {"fn": "batchnorm", "epsilon": op.epsilon, "act": act}))


@lowers(ops.Softmax, ops.LogSoftmax)
def lower_softmax(low: Lowering, op) -> None:
    _float_only(op)
    x = low.view(op.inputs[0])
    low.begin("op", op.name, _comment(op, extra=f"axis {op.axis}"), op)
    y = low.output(op.output, like=x)
    axis = op.axis % max(x.rank, 1)
    low.emit(KernelCall("softmax", {"x": x}, {"y": y},
                        {"axis": axis, "log": isinstance(op, ops.LogSoftmax)}))


@lowers(ops.LRN)
def lower_lrn(low: Lowering, op) -> None:
    _float_only(op)
    x = low.view(op.inputs[0])
    low.begin("op", op.name, _comment(op, extra=f"size {op.size}"), op)
    y = low.output(op.output, like=x)
    low.emit(KernelCall("lrn", {"x": x}, {"y": y},
                        {"size": op.size, "alpha": op.alpha, "beta": op.beta, "bias": op.bias}))


# -- layers with weights ---------------------------------------------------------------

def _const(low: Lowering, value):
    """The array of a constant operand (float32, or the integer type it has), else None."""
    array = low.constant(value)
    if array is None:
        return None
    array = np.asarray(array)
    return array if array.dtype.kind in "iu" else array.astype(np.float32)


@lowers(ops.Conv2d)
def lower_conv2d(low: Lowering, op) -> None:
    low.begin("op", op.name, "", op)
    x = low.nhwc(op.inputs[0])
    w = _const(low, op.inputs[1])
    b = _const(low, op.inputs[2]) if len(op.inputs) == 3 else None
    reads = {"x": x}
    result = op.output
    if w is None:
        reads["w"] = low.view(op.inputs[1])
    if b is None and len(op.inputs) == 3:
        reads["b"] = low.view(op.inputs[2])
    act, result, rescale = _accumulator_epilogue(low, op, result)
    y = low.output(result, layout="nhwc")
    kh, kw = op.inputs[1].shape[2:]
    extra = (f"kernel {kh}x{kw}, strides {list(op.strides)}, pads {list(op.pads)}"
             + (f", dilations {list(op.dilations)}" if op.dilations != (1, 1) else "")
             + (f", group {op.group}" if op.group != 1 else "")
             + (f", fused {rescale.OP_NAME} '{rescale.name}'" if rescale is not None else ""))
    low.current.comment = _comment(op, act, result, extra)
    low.emit(KernelCall("conv2d", reads, {"y": y}, {
        "strides": op.strides, "pads": op.pads, "dilations": op.dilations, "group": op.group,
        "kernel": (kh, kw), "weights": w, "bias": b, "act": act, "rescale": rescale,
        "acc_dtype": op.output.type.dtype.numpy.name}))


def _accumulator_epilogue(low: Lowering, op, result):
    """What a convolution or dense layer applies before storing ``result`` (its output, or
    a folded batch norm's): (activation, value stored, fused rescale).

    An integer accumulator whose only user is a rescale along the output channels (axis 1,
    or per tensor) is requantized by the kernel itself and never reaches memory; otherwise
    the usual activation epilogue applies."""
    rescale = None
    if low.fuse and _is_integer(op.output) and op.activation == "none":
        rescale = low.single_user(op.output, ops.Rescale)
    if rescale is not None and (not rescale.varying()
                                or rescale.axis % op.output.type.rank == 1):
        low.skip.add(id(rescale))
        return None, rescale.output, rescale
    act, result = low.epilogue(op, result)
    return act, result, None


@lowers(ops.ConvTranspose2d)
def lower_conv_transpose2d(low: Lowering, op) -> None:
    low.begin("op", op.name, "", op)
    x = low.nhwc(op.inputs[0])
    w = _const(low, op.inputs[1])
    b = _const(low, op.inputs[2]) if len(op.inputs) == 3 else None
    reads = {"x": x}
    if w is None:
        reads["w"] = low.view(op.inputs[1])
    if b is None and len(op.inputs) == 3:
        reads["b"] = low.view(op.inputs[2])
    act, result = low.epilogue(op)
    y = low.output(result, layout="nhwc")
    kh, kw = op.inputs[1].shape[2:]
    low.current.comment = _comment(op, act, result, f"kernel {kh}x{kw}, strides "
                                   f"{list(op.strides)}, pads {list(op.pads)}")
    low.emit(KernelCall("conv_transpose2d", reads, {"y": y}, {
        "strides": op.strides, "pads": op.pads, "dilations": op.dilations, "group": op.group,
        "kernel": (kh, kw), "weights": w, "bias": b, "act": act}))


@lowers(ops.Gemm)
def lower_gemm(low: Lowering, op) -> None:
    a, b = op.effective_operands(low.view(op.inputs[0]), low.view(op.inputs[1]),
                                 lambda view: view.permute((1, 0)))
    low.begin("op", op.name, "", op)
    act, result, rescale = _accumulator_epilogue(low, op, op.output)
    low.current.comment = _comment(
        op, act, result, f"fused {rescale.OP_NAME} '{rescale.name}'" if rescale is not None else "")
    y = low.output(result)
    reads = {"a": a, "b": b}
    if len(op.inputs) == 3 and op.beta != 0.0:
        reads["c"] = low.view(op.inputs[2]).broadcast_to(op.output.shape)
    low.emit(KernelCall("gemm", reads, {"y": y},
                        {"alpha": op.alpha, "beta": op.beta, "act": act, "rescale": rescale,
                         "acc_dtype": op.output.type.dtype.numpy.name}))


@lowers(ops.MatMul)
def lower_matmul(low: Lowering, op) -> None:
    a = low.view(op.inputs[0])
    b = low.view(op.inputs[1])
    if a.rank == 1:
        a = View(a.storage, a.offset, (1,) + a.shape, (0,) + a.strides)
    if b.rank == 1:
        b = View(b.storage, b.offset, b.shape + (1,), b.strides + (0,))
    rows = _rows_of(a) if b.rank == 2 else None
    if rows is not None:
        # [..., M, K] @ [K, N] is one [rows, K] @ [K, N] product (a dense layer, which a
        # target may have a faster kernel for than for a batch of small products).
        a = View(a.storage, a.offset, (rows[0], a.shape[-1]), (rows[1], a.strides[-1]))
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    a = a.broadcast_to(batch + a.shape[-2:])
    b = b.broadcast_to(batch + b.shape[-2:])
    low.begin("op", op.name, "", op)
    act, result = low.fused_activation(op.output)
    low.current.comment = _comment(op, act, result)
    y = low.output(result)
    full = batch + (a.shape[-2], b.shape[-1])
    y_full = View.dense(y.storage, full, offset=y.offset)
    low.emit(KernelCall("gemm", {"a": a, "b": b}, {"y": y_full},
                        {"alpha": 1.0, "beta": 0.0, "act": act}))


def _rows_of(view: View) -> tuple[int, int] | None:
    """(count, stride) of the rows of ``view`` when all its axes but the last are one
    evenly strided axis (a row-major batch of matrices, for one); else None."""
    count, stride = 1, 0
    for size, step in reversed(list(zip(view.shape[:-1], view.strides[:-1]))):
        if size == 1:
            continue
        if count > 1 and step != stride * count:
            return None
        if count == 1:
            stride = step
        count *= size
    return count, stride


# -- pooling and reductions ----------------------------------------------------------------

@lowers(ops.MaxPool2d, ops.AvgPool2d)
def lower_pool2d(low: Lowering, op) -> None:
    low.begin("op", op.name, _comment(op, extra=f"kernel {list(op.kernel)}, strides "
                                      f"{list(op.strides)}, pads {list(op.pads)}"), op)
    x = low.nhwc(op.inputs[0])
    y = low.output(op.output, layout="nhwc")
    low.emit(KernelCall("pool2d", {"x": x}, {"y": y}, {
        "kind": "max" if isinstance(op, ops.MaxPool2d) else "avg",
        "kernel": op.kernel, "strides": op.strides, "pads": op.pads,
        "dilations": op.dilations, "ceil_mode": op.ceil_mode,
        "count_include_pad": getattr(op, "count_include_pad", False)}))


@lowers(ops.MaxPool2dWithIndices)
def lower_max_pool_indices(low: Lowering, op) -> None:
    _float_only_values(op)
    low.begin("op", op.name, _comment(op, extra=f"kernel {list(op.kernel)}, strides "
                                      f"{list(op.strides)}, pads {list(op.pads)}"), op)
    x = low.view(op.inputs[0])
    y = low.output(op.outputs[0])
    ind = low.output(op.outputs[1])
    low.emit(KernelCall("max_pool_indices", {"x": x}, {"y": y, "ind": ind}, {
        "kernel": op.kernel, "strides": op.strides, "pads": op.pads,
        "dilations": op.dilations, "column_major": op.storage_order == 1}))


@lowers(ops.MaxUnpool2d)
def lower_max_unpool(low: Lowering, op) -> None:
    _float_only_values(op)
    low.begin("op", op.name, _comment(op, extra="accumulating" if op.accumulate else ""), op)
    x, ind = low.view(op.inputs[0]), low.view(op.inputs[1])
    y = low.output(op.output)
    low.emit(KernelCall("max_unpool", {"x": x, "ind": ind}, {"y": y},
                        {"accumulate": op.accumulate}))


def _float_only_values(op) -> None:
    """Max pooling with indices and unpooling move float values (the indices are int64)."""
    if not op.inputs[0].type.dtype.is_float:
        _float_only(op)


@lowers(ops.GlobalAvgPool, ops.GlobalMaxPool, *ops.REDUCTIONS)
def lower_reduce(low: Lowering, op) -> None:
    """One ``reduce`` kernel for the reduction family; ``fn`` is its KIND."""
    x = low.view(op.inputs[0])
    if isinstance(op, ops.Reduce):
        _float_only(op)
        axes, keepdims, fn = op.reduced_axes(x.rank), op.keepdims, op.KIND
    else:
        axes, keepdims = tuple(range(2, x.rank)), True
        fn = "max" if isinstance(op, ops.GlobalMaxPool) else "mean"
    low.begin("op", op.name, _comment(op, extra=f"over axes {list(axes)}"), op)
    y = low.output(op.output, like=x if keepdims else None)
    low.emit(KernelCall("reduce", {"x": x}, {"y": y},
                        {"fn": fn, "axes": axes, "keepdims": keepdims}))


# -- data movement -------------------------------------------------------------------------

@lowers(ops.Reshape)
def lower_reshape(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    if x.is_row_major():
        low.begin("op", op.name, _comment(op, extra="no code: the result aliases the operand"), op)
        low.alias(op.output, View.dense(x.storage, op.output.shape, offset=x.offset))
        return
    low.begin("op", op.name, _comment(op, extra="reordered into logical order"), op)
    y = low.output(op.output)
    low.emit(KernelCall("copy", {"x": x}, {"y": View.dense(y.storage, x.shape, offset=y.offset)}))


@lowers(ops.Transpose)
def lower_transpose(low: Lowering, op) -> None:
    low.begin("op", op.name, _comment(op, extra=f"perm {list(op.perm)}; no code: a strided view"),
              op)
    low.alias(op.output, low.view(op.inputs[0]).permute(op.perm))


@lowers(ops.Slice)
def lower_slice(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    view = x
    for axis, sl in enumerate(op.slices(x.rank)):
        start, stop, step = sl.indices(x.shape[axis])
        size = len(range(start, stop, step))
        if (start, size, step) != (0, x.shape[axis], 1):
            view = view.slice(axis, start if size else 0, size, step)
    low.begin("op", op.name, _comment(op, extra="no code: a strided view"), op)
    low.alias(op.output, view)


@lowers(ops.Split)
def lower_split(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    axis = op.axis % x.rank
    low.begin("op", op.name, _comment(op, extra="no code: strided views"), op)
    offset = 0
    for value, size in zip(op.outputs, op.sizes):
        low.alias(value, x.slice(axis, offset, size))
        offset += size


@lowers(ops.Concat)
def lower_concat(low: Lowering, op) -> None:
    views = [low.view(v) for v in op.inputs]
    axis = op.axis % views[0].rank
    low.begin("op", op.name, _comment(op, extra=f"axis {axis}"), op)
    y = low.output(op.output, like=next((v for v in views if v.is_nhwc()), views[0]))
    offset = 0
    in_place = 0
    for v in views:
        size = v.shape[axis]
        target = y.slice(axis, offset, size)
        if size and v == target:
            in_place += 1  # written into its slice by its producer: nothing to copy
        elif size:
            low.emit(KernelCall("copy", {"x": v}, {"y": target}))
        offset += size
    if in_place:
        low.current.comment += f"; {in_place} of {len(views)} inputs written in place"


@lowers(ops.Pad)
def lower_pad(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    rank = x.rank
    maps = []
    for axis in range(rank):
        n = x.shape[axis]
        begin, end = op.pads[axis], op.pads[axis + rank]
        idx = np.arange(n)
        idx = idx[max(-begin, 0): n - max(-end, 0)]
        pb, pe = max(begin, 0), max(end, 0)
        if op.mode == "constant" or idx.size == 0:
            idx = np.pad(idx, (pb, pe), mode="constant", constant_values=-1)
        else:
            idx = np.pad(idx, (pb, pe), mode="reflect" if op.mode == "reflect" else "edge")
        maps.append(idx.astype(np.int64))
    low.begin("op", op.name, _comment(op, extra=f"{op.mode}, pads {list(op.pads)}"), op)
    y = low.output(op.output, like=x)
    low.emit(KernelCall("gather", {"x": x}, {"y": y}, {"maps": maps, "value": op.value}))


@lowers(ops.Resize)
def lower_resize(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    low.begin("op", op.name, _comment(op, extra=f"{op.mode}, {op.coordinate_transformation_mode}"),
              op)
    y = low.output(op.output, like=x)
    scales = op.scales or tuple(o / i for o, i in zip(op.sizes, x.shape))
    if op.mode == "nearest":
        maps = [resize_axis_nearest(n, m, s, op.coordinate_transformation_mode, op.nearest_mode)
                for n, m, s in zip(x.shape, op.sizes, scales)]
        low.emit(KernelCall("gather", {"x": x}, {"y": y}, {"maps": maps, "value": 0.0}))
    elif op.mode == "linear":
        axes = [resize_axis_linear(n, m, s, op.coordinate_transformation_mode)
                for n, m, s in zip(x.shape, op.sizes, scales)]
        if _is_integer(op.inputs[0]):
            # Integer weights (ir/ops/quant.py) from the upper index's float weight.
            axes = [a if a is None else (a[0], a[1], *resize_weights(a[3])) for a in axes]
        low.emit(KernelCall("resize_linear", {"x": x}, {"y": y}, {"axes": axes}))
    else:
        raise UnsupportedError(f"{op.label}: resize mode '{op.mode}'")


# -- quantized IR (exact integer arithmetic, see ir/ops/quant.py) -----------------------

@lowers(ops.Quantize, ops.Dequantize)
def lower_quantize_or_dequantize(low: Lowering, op) -> None:
    """Both are element-wise maps (the `map` kernel's `quantize` / `dequantize` functions)."""
    quantize = isinstance(op, ops.Quantize)
    x = low.view(op.inputs[0])
    target = f", {op.dtype}" if quantize else ""
    low.begin("op", op.name, _comment(op, extra=f"scale {op.scale:g}, zero point "
                                      f"{op.zero_point}{target}"), op)
    y = low.output(op.output, like=x)
    low.emit(KernelCall("map", {"a": x}, {"y": y}, {
        "fn": "quantize" if quantize else "dequantize", "scale": op.scale,
        "zero_point": op.zero_point}))


@lowers(ops.Rescale)
def lower_rescale(low: Lowering, op) -> None:
    x = low.view(op.inputs[0])
    low.begin("op", op.name, _comment(op, extra=f"{op.mode} to {op.dtype}"), op)
    y = low.output(op.output, like=x)
    axis = op.axis % x.rank if x.rank else 0
    low.emit(KernelCall("rescale", {"x": x}, {"y": y}, {"op": op, "axis": axis}))
