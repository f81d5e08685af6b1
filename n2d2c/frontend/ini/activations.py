"""``ActivationFunction`` of a layer, lowered to separate element-wise ops.

N2D2's documentation gives every layer "none by default" (that is ``Linear``)
when ``ActivationFunction`` is absent, and n2d2c follows it.  (N2D2's
``ConvCellGenerator``/``FcCellGenerator`` actually fall back to ``Tanh``; the
corpus always spells the activation of those layers out, so the difference
only matters for hand-written files.)

===================== =============================================================
``Linear``            identity
``Rectifier``         ``x > 0 ? x : LeakSlope * x`` [LeakSlope 0.0], then clipped at
                      ``Clipping`` when it is > 0 [0.0: no clipping]
``Logistic``,         ``1 / (1 + exp(-x))`` (the "WithLoss" part is training only)
``LogisticWithLoss``
``Tanh``              ``tanh(Alpha * x)`` [Alpha 1.0]
``TanhLeCun``         ``tanh(Alpha * x)`` with Alpha = 1.7159 * 2/3 (as documented)
``Saturation``        ``clamp(x, -Threshold, Threshold)`` [Threshold 1.0]
``Swish``             ``x * logistic(x)``
``Softplus``          ``log(1 + exp(x))``
===================== =============================================================

``ActivationFunction.Shifting=s`` (all functions) first divides by ``2**s``.
Quantizer options (``ActivationFunction.Quantization*``, ``QAct*``) are
training-time settings and are only recorded.
"""

from __future__ import annotations

from ...errors import UnsupportedError
from ...ir import Value
from ...ir import ops as O
from .context import LayerContext
from .opmath import scalar

ACTIVATIONS = ("Linear", "Rectifier", "Logistic", "LogisticWithLoss", "Tanh", "TanhLeCun",
               "Saturation", "Swish", "Softplus")
SUPPORTED = ACTIVATIONS
TANH_LECUN_ALPHA = 1.7159 * 2.0 / 3.0

KEY = "ActivationFunction"


def activation_name(ctx: LayerContext) -> str:
    return ctx.props.choice(KEY, ACTIVATIONS, "Linear")


def lower_activation(ctx: LayerContext, x: Value) -> Value:
    """Apply the layer's activation to ``x`` (returns ``x`` itself for Linear)."""
    props = ctx.props
    name = activation_name(ctx)
    ctx.info["activation"] = name
    shifting = props.int(f"{KEY}.Shifting", 0)
    if shifting:
        factor = 2.0 ** (-shifting)
        x = ctx.emit(O.Mul(), [x, scalar(ctx, factor, "act_shift_k")], "act_shift")
    if name == "Linear":
        return x
    if name == "Rectifier":
        leak = props.float(f"{KEY}.LeakSlope", 0.0)
        clipping = props.float(f"{KEY}.Clipping", 0.0)
        if leak == 0.0 and clipping > 0.0:
            return ctx.emit(O.Clip(min=0.0, max=clipping), [x], "relu_clip")
        y = ctx.emit(O.LeakyRelu(alpha=leak), [x], "leaky_relu") if leak else \
            ctx.emit(O.Relu(), [x], "relu")
        if clipping > 0.0:
            y = ctx.emit(O.Clip(max=clipping), [y], "clip")
        return y
    if name in ("Logistic", "LogisticWithLoss"):
        return ctx.emit(O.Sigmoid(), [x], "sigmoid")
    if name in ("Tanh", "TanhLeCun"):
        alpha = props.float(f"{KEY}.Alpha", 1.0 if name == "Tanh" else TANH_LECUN_ALPHA)
        if alpha != 1.0:
            x = ctx.emit(O.Mul(), [x, scalar(ctx, alpha, "tanh_alpha")], "tanh_scale")
        return ctx.emit(O.Tanh(), [x], "tanh")
    if name == "Saturation":
        t = props.float(f"{KEY}.Threshold", 1.0)
        if t < 0:
            raise props.error(f"{KEY}.Threshold", f"must be >= 0, got {t}")
        return ctx.emit(O.Clip(min=-t, max=t), [x], "saturation")
    if name == "Softplus":
        return ctx.emit(O.Softplus(), [x], "softplus")
    if name == "Swish":
        s = ctx.emit(O.Sigmoid(), [x], "swish_sigmoid")
        return ctx.emit(O.Mul(), [x, s], "swish")
    raise UnsupportedError(f"activation {name}")  # pragma: no cover - ACTIVATIONS is closed

