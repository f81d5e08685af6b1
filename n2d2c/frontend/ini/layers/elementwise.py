"""Element-wise layers: ElemWise, Softmax, Dropout, Activation, Scaling, Threshold,
TargetBias.

* ElemWise ``Operation`` [Sum]: with inputs ``T_i``, weights ``w_i`` [1.0] and
  shifts ``s_i`` [0.0] (one value for all inputs, or one per input):
  ``Sum = sum(w_i T_i + s_i)``, ``AbsSum = sum(w_i |T_i|)``,
  ``EuclideanSum = sqrt(sum((w_i T_i + s_i)**2))``, ``Prod = prod(T_i)``,
  ``Max = max(T_i)``.  Weights and shifts become ``mul``/``add`` ops.
* Softmax over channels (``WithLoss`` is training only); ``GroupSize=g``
  normalises each group of ``g`` consecutive channels separately.
* Dropout is kept as a ``dropout`` op (identity at inference; the
  ``remove-dropout`` pass deletes it), with its ``Dropout`` [0.5] ratio.
* Activation applies ``ActivationFunction`` alone.
* Scaling multiplies by ``Factor``.
* Threshold (``Operation`` [Binary], ``Threshold``, ``MaxValue`` [1.0]), as
  OpenCV's thresholds: Binary ``x > t ? MaxValue : 0``, BinaryInverted
  ``x > t ? 0 : MaxValue``, Truncate ``min(x, t)``, ToZero ``x > t ? x : 0``,
  ToZeroInverted ``x > t ? 0 : x`` (the comparison is built as in
  ``opmath.step_greater``).
* TargetBias adds its ``Bias`` to the target class only while learning
  (AM-Softmax); at inference it is the identity.
"""

from __future__ import annotations

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext, nchw
from ..opmath import abs_value, scalar, step_greater
from . import layer

OPERATIONS = ("Sum", "AbsSum", "EuclideanSum", "Prod", "Max")


def _coefficients(ctx: LayerContext, key: str, default: float, count: int) -> list[float]:
    if key not in ctx.props:
        return [default] * count
    values = ctx.props.list(key, item=float)
    if len(values) == 1:
        return values * count
    if len(values) != count:
        raise ctx.props.error(key, f"gives {len(values)} values for {count} inputs; give one "
                                   "value, or one per input")
    return values


@layer("ElemWise", concat=False)
def elemwise(ctx: LayerContext) -> Value:
    props = ctx.props
    operation = props.choice("Operation", OPERATIONS, "Sum")
    inputs = list(ctx.inputs)
    if len({v.type.rank for v in inputs}) > 1:
        inputs = [ctx.as4d(v) for v in inputs]
    shapes = {v.shape for v in inputs}
    if len(shapes) > 1:
        listed = ", ".join(f"[{n}] {list(v.shape)}" for n, v in zip(ctx.input_names, inputs))
        raise props.error("Input", f"element-wise inputs must have the same shape, got {listed}")
    count = len(inputs)
    weights = _coefficients(ctx, "Weights", 1.0, count)
    shifts = _coefficients(ctx, "Shifts", 0.0, count)
    if operation in ("Prod", "Max") and (any(w != 1.0 for w in weights)
                                         or any(s != 0.0 for s in shifts)):
        raise props.error("Weights" if "Weights" in props else "Shifts",
                          f"weights and shifts apply to Sum, AbsSum and EuclideanSum, not to "
                          f"{operation}")
    if operation == "AbsSum" and any(s != 0.0 for s in shifts):
        raise props.error("Shifts", "AbsSum takes no shifts")
    ctx.info.update(operation=operation, weights=weights, shifts=shifts)

    terms = []
    for i, (v, w, s) in enumerate(zip(inputs, weights, shifts)):
        if operation == "AbsSum":
            v = abs_value(ctx, v, f"abs{i}")
        if operation in ("Sum", "AbsSum", "EuclideanSum"):
            if w != 1.0:
                v = ctx.emit(O.Mul(), [v, scalar(ctx, w, f"w{i}")], f"weighted{i}")
            if s != 0.0:
                v = ctx.emit(O.Add(), [v, scalar(ctx, s, f"s{i}")], f"shifted{i}")
            if operation == "EuclideanSum":
                v = ctx.emit(O.Mul(), [v, v], f"square{i}")
        terms.append(v)
    combine = {"Sum": O.Add, "AbsSum": O.Add, "EuclideanSum": O.Add, "Prod": O.Mul,
               "Max": O.Max}[operation]
    acc = terms[0]
    for i, term in enumerate(terms[1:], 1):
        acc = ctx.emit(combine(), [acc, term], f"{operation.lower()}{i}")
    if operation == "EuclideanSum":
        # sqrt(s) for s >= 0 without a sqrt op: an LRN whose window is a single
        # channel computes s / (1e-30 + s**2) ** 0.25, i.e. sqrt(s) (0 for s = 0).
        acc = ctx.emit(O.Reshape(shape=(acc.type.size, 1, 1, 1)), [acc], "sqrt_in")
        acc = ctx.emit(O.LRN(size=1, alpha=1.0, beta=0.25, bias=1e-30), [acc], "sqrt")
        acc = ctx.emit(O.Reshape(shape=inputs[0].shape), [acc], "sqrt_out")
    if acc is inputs[0] or acc in ctx.inputs:
        acc = ctx.emit(O.Identity(), [acc], "identity")
    return acc


@layer("Softmax", activation=False)
def softmax(ctx: LayerContext) -> Value:
    x = ctx.concat_inputs(four_d=False)
    n, channels, h, w = nchw(x)
    group = ctx.props.positive("GroupSize", 0, zero_ok=True)
    ctx.info["with_loss"] = ctx.props.bool("WithLoss", False)
    if group in (0, channels):
        return ctx.emit(O.Softmax(axis=1), [x], "softmax")
    if channels % group:
        raise ctx.props.error("GroupSize", f"{group} does not divide the {channels} channels")
    grouped = ctx.emit(O.Reshape(shape=(n, channels // group, group, h * w)), [x], "groups")
    y = ctx.emit(O.Softmax(axis=2), [grouped], "softmax")
    return ctx.emit(O.Reshape(shape=x.shape), [y], "ungroup")


@layer("Dropout", activation=False)
def dropout(ctx: LayerContext) -> Value:
    x = ctx.concat_inputs(four_d=False)
    ratio = ctx.props.float("Dropout", 0.5)
    if not 0.0 <= ratio < 1.0:
        raise ctx.props.error("Dropout", f"must be in [0, 1), got {ratio}")
    return ctx.emit(O.Dropout(ratio=ratio), [x], "dropout")


@layer("Activation")
def activation(ctx: LayerContext) -> Value:
    x = ctx.concat_inputs(four_d=False)
    return ctx.emit(O.Identity(), [x], "identity")


@layer("Scaling", activation=False)
def scaling(ctx: LayerContext) -> Value:
    x = ctx.concat_inputs(four_d=False)
    factor = ctx.props.float("Factor")
    return ctx.emit(O.Mul(), [x, scalar(ctx, factor, "factor")], "scale")


@layer("TargetBias", activation=False)
def target_bias(ctx: LayerContext) -> Value:
    x = ctx.concat_inputs(four_d=False)
    if "Bias" in ctx.props:
        ctx.info["training_bias"] = ctx.props.float("Bias")
    return ctx.emit(O.Identity(), [x], "identity")


THRESHOLD_OPERATIONS = ("Binary", "BinaryInverted", "Truncate", "ToZero", "ToZeroInverted")


@layer("Threshold", activation=False)
def threshold(ctx: LayerContext) -> Value:
    props = ctx.props
    x = ctx.concat_inputs(four_d=False)
    t = props.float("Threshold")
    operation = props.choice("Operation", THRESHOLD_OPERATIONS, "Binary")
    ctx.info.update(operation=operation, threshold=t)
    if operation == "Truncate":
        return ctx.emit(O.Min(), [x, scalar(ctx, t, "t")], "truncate")
    step = step_greater(ctx, x, t, "above")
    if operation.endswith("Inverted"):
        step = ctx.emit(O.Sub(), [scalar(ctx, 1.0, "one"), step], "not_above")
    if operation.startswith("Binary"):
        top = props.float("MaxValue", 1.0)
        if top == 1.0:
            return ctx.emit(O.Identity(), [step], "binary")
        return ctx.emit(O.Mul(), [step, scalar(ctx, top, "max_value")], "binary")
    return ctx.emit(O.Mul(), [x, step], "to_zero")

