"""Conv, ConvTranspose, Gemm and MatMul."""

from __future__ import annotations

from ...ir.ops import Conv2d, ConvTranspose2d, Gemm, MatMul
from . import spatial
from .params import legacy_broadcast
from .registry import converter


def _kernel(ctx, w_shape) -> tuple[int, ...]:
    kernel = ctx.ints("kernel_shape") or tuple(w_shape[2:])
    if tuple(kernel) != tuple(w_shape[2:]):
        raise ctx.shape_error(f"kernel_shape {list(kernel)} disagrees with weights "
                              f"{list(w_shape)}")
    return kernel


def _operands(ctx, lifted: bool):
    x = spatial.lift_input(ctx, 0)
    w = spatial.lift_input(ctx, 1) if lifted else ctx.value(1)
    return [x, w] + ([ctx.value(2)] if ctx.has(2) else [])


@converter("Conv")
def convert_conv(ctx):
    x_shape, w_shape = ctx.shape(0), ctx.shape(1)
    n = spatial.spatial_rank(ctx, len(w_shape), "convolution")
    if len(x_shape) != n + 2:
        raise ctx.shape_error(f"input {list(x_shape)} and weights {list(w_shape)} differ in rank")
    kernel = _kernel(ctx, w_shape)
    strides, dilations, begins, ends = spatial.window_params(ctx, x_shape[2:], kernel)
    op = Conv2d(strides=spatial.as_2d(strides, 1), pads=spatial.pads_2d(begins, ends),
                dilations=spatial.as_2d(dilations, 1), group=int(ctx.attr("group", 1)))
    spatial.finish(ctx, op, _operands(ctx, n == 1), n == 1)


def _transpose_pads(ctx, in_sizes, kernel, strides, dilations, out_pad):
    """Pads (begins, ends) and output padding of a ConvTranspose.

    With ``output_shape`` (or SAME auto_pad) the pads follow from the wanted
    size; a negative end pad means "more output than the full result", which
    the IR expresses as extra output padding.
    """
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    wanted = ctx.ints("output_shape")
    if wanted is not None and len(wanted) == len(in_sizes) + 2:
        wanted = wanted[2:]  # some exporters give the full N, C, ... shape
    if wanted is None and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        if auto_pad == "VALID":
            return (0,) * len(kernel), (0,) * len(kernel), out_pad
        if auto_pad not in ("NOTSET", ""):
            raise ctx.unsupported(f"auto_pad {auto_pad!r}")
        pads = ctx.ints("pads") or (0,) * (2 * len(kernel))
        return pads[:len(kernel)], pads[len(kernel):], out_pad
    if wanted is None:
        wanted = [size * s for size, s in zip(in_sizes, strides)]
    if len(wanted) != len(in_sizes):
        raise ctx.shape_error(f"output_shape {list(wanted)} has the wrong rank")
    begins, ends, extra = [], [], list(out_pad)
    for i, (size, k, s, d, want) in enumerate(zip(in_sizes, kernel, strides, dilations, wanted)):
        total = s * (size - 1) + out_pad[i] + (k - 1) * d + 1 - want
        small, large = total // 2, total - total // 2
        begin, end = (small, large) if auto_pad == "SAME_UPPER" else (large, small)
        if end < 0:
            extra[i] += -end
            end = 0
        if begin < 0:
            raise ctx.unsupported(f"an output of size {list(wanted)} needs zero rows or columns "
                                  "before the first result, which is not supported")
        begins.append(begin)
        ends.append(end)
    return tuple(begins), tuple(ends), tuple(extra)


@converter("ConvTranspose")
def convert_conv_transpose(ctx):
    x_shape, w_shape = ctx.shape(0), ctx.shape(1)
    n = spatial.spatial_rank(ctx, len(w_shape), "transposed convolution")
    kernel = _kernel(ctx, w_shape)
    strides = ctx.ints("strides") or (1,) * n
    dilations = ctx.ints("dilations") or (1,) * n
    out_pad = ctx.ints("output_padding") or (0,) * n
    begins, ends, out_pad = _transpose_pads(ctx, x_shape[2:], kernel, strides, dilations,
                                            out_pad)
    op = ConvTranspose2d(strides=spatial.as_2d(strides, 1), pads=spatial.pads_2d(begins, ends),
                         dilations=spatial.as_2d(dilations, 1),
                         output_padding=spatial.as_2d(out_pad, 0),
                         group=int(ctx.attr("group", 1)))
    spatial.finish(ctx, op, _operands(ctx, n == 1), n == 1)


@converter("Gemm")
def convert_gemm(ctx):
    inputs = [ctx.value(0), ctx.value(1)]
    if ctx.has(2):
        c_shape = ctx.shape(2)
        a, b = ctx.shape(0), ctx.shape(1)
        out = (a[1] if ctx.attr("transA", 0) else a[0], b[0] if ctx.attr("transB", 0) else b[1])
        wanted = legacy_broadcast(ctx, out, c_shape)
        inputs.append(spatial.reshaped(ctx, 2, wanted, "c"))
    ctx.emit(Gemm(alpha=float(ctx.attr("alpha", 1.0)), beta=float(ctx.attr("beta", 1.0)),
                  trans_a=bool(ctx.attr("transA", 0)), trans_b=bool(ctx.attr("transB", 0))),
             inputs)


@converter("MatMul")
def convert_matmul(ctx):
    ctx.emit(MatMul(), [ctx.value(0), ctx.value(1)])
