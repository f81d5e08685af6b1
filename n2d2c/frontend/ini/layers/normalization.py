"""``BatchNorm``, ``LRN`` and ``Normalize`` layers.

* BatchNorm: ``scale * (x - mean) / sqrt(var + eps) + bias`` per channel.
  ``Epsilon`` [0.0] means "the smallest value allowed", i.e. cuDNN's 1e-5.
* LRN: N2D2 computes ``x / (K + Alpha * sum_{window} x**2) ** Beta`` over the
  ``N`` channels centred on each channel (window ``i - N/2 .. i + N/2``) with
  defaults N=5, Alpha=1e-4, Beta=0.75, K=2.0.  ONNX's LRN divides alpha by the
  window size, so the IR op gets ``size = 2*(N//2) + 1`` and
  ``alpha = Alpha * size``.
* Normalize (``Norm=L2`` or ``L1``): each position's channel vector divided by
  its norm (see ``opmath.py`` for the L2 construction).
"""

from __future__ import annotations

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from ..opmath import abs_value, channel_sum, l2_normalize_channels
from . import layer

CUDNN_MIN_EPSILON = 1e-5


@layer("BatchNorm")
def batchnorm(ctx: LayerContext) -> Value:
    x = ctx.concat_inputs(four_d=False)
    channels = nchw(x)[1]
    for key in ("ScalesSharing", "BiasesSharing", "MeansSharing", "VariancesSharing"):
        if key in ctx.props:
            raise ctx.props.unsupported(key, "sharing parameters between layers is not "
                                             "supported")
    eps = ctx.props.float("Epsilon", 0.0)
    if eps < 0:
        raise ctx.props.error("Epsilon", f"must be >= 0, got {eps}")
    eps = eps or CUDNN_MIN_EPSILON
    p = ctx.batchnorm_params(channels)
    operands = [x] + [ctx.const(p[k], k) for k in ("scales", "biases", "means", "variances")]
    ctx.info["epsilon"] = eps
    return ctx.emit(O.BatchNorm(epsilon=eps), operands, "batchnorm")


@layer("LRN", activation=False)
def lrn(ctx: LayerContext) -> Value:
    props = ctx.props
    n = props.positive("N", 5)
    alpha = props.float("Alpha", 1.0e-4)
    beta = props.float("Beta", 0.75)
    k = props.float("K", 2.0)
    size = 2 * (n // 2) + 1
    x = ctx.concat_inputs()
    return ctx.emit(O.LRN(size=size, alpha=alpha * size, beta=beta, bias=k), [x], "lrn")


@layer("Normalize", activation=False)
def normalize(ctx: LayerContext) -> Value:
    norm = ctx.props.choice("Norm", ("L1", "L2"))
    x = ctx.concat_inputs(four_d=False)
    if norm == "L2":
        return l2_normalize_channels(ctx, x, "l2norm")
    total = channel_sum(ctx, abs_value(ctx, x, "abs"), "l1")
    return ctx.emit(O.Div(), [x, total], "l1norm")
