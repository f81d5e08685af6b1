"""Element-wise ops: broadcasting binaries, activations, softmax."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Operation
from ..types import DType
from .activation import FusedActivation, check_activation
from .registry import register_op
from .shape_rules import broadcast_shapes, normalize_axis


class BinaryOp(Operation):
    """Two operands combined element-wise with numpy/ONNX broadcasting."""

    ARITY = (2, 2)

    def infer(self, types):
        a, b = types
        if a.dtype != b.dtype:
            raise self.error(f"operand element types differ: {a.dtype.value} vs {b.dtype.value}")
        shape = broadcast_shapes(self, [a.shape, b.shape])
        base = a if a.shape == shape else b
        return [base.with_shape(shape)]


class IntegerAccumulating(BinaryOp):
    """A binary op that the quantized IR also defines on integers: operands of at most
    ``MAX_INTEGER_BITS`` bits (any mix of dtypes) give their exact result as an i32
    accumulator, broadcasting (quant.py); a ``rescale`` brings it back to 8 bits.
    i64 operands (shape and index arithmetic) keep the plain same-dtype rule."""

    MAX_INTEGER_BITS = 32

    def infer(self, types):
        a, b = types
        if not (a.dtype.is_integer and b.dtype.is_integer) or DType.I64 in (a.dtype, b.dtype):
            return super().infer(types)
        if max(a.dtype.itemsize, b.dtype.itemsize) * 8 > self.MAX_INTEGER_BITS:
            raise self.error(f"integer operands of at most {self.MAX_INTEGER_BITS} bits, got "
                             f"{a.dtype.value} and {b.dtype.value}")
        if getattr(self, "activation", "none") != "none":
            raise self.error(f"an integer {self.OP_NAME} cannot carry a fused activation")
        shape = broadcast_shapes(self, [a.shape, b.shape])
        base = a if a.shape == shape else b
        return [base.with_shape(shape).with_dtype(DType.I32)]


@register_op
@dataclass(eq=False, kw_only=True)
class Add(FusedActivation, IntegerAccumulating):
    OP_NAME = "add"

    def infer(self, types):
        check_activation(self)
        return super().infer(types)


@register_op
@dataclass(eq=False, kw_only=True)
class Sub(IntegerAccumulating):
    OP_NAME = "sub"


@register_op
@dataclass(eq=False, kw_only=True)
class Mul(IntegerAccumulating):
    OP_NAME = "mul"
    MAX_INTEGER_BITS = 16  # the product of two 16-bit levels still fits the i32


@register_op
@dataclass(eq=False, kw_only=True)
class Div(BinaryOp):
    OP_NAME = "div"


@register_op
@dataclass(eq=False, kw_only=True)
class Max(BinaryOp):
    OP_NAME = "max"


@register_op
@dataclass(eq=False, kw_only=True)
class Min(BinaryOp):
    OP_NAME = "min"


@register_op
@dataclass(eq=False, kw_only=True)
class PRelu(Operation):
    """x if x >= 0 else slope * x; the slope broadcasts to x (unidirectionally)."""

    OP_NAME = "prelu"
    ARITY = (2, 2)

    def infer(self, types):
        x, slope = types
        if broadcast_shapes(self, [x.shape, slope.shape]) != x.shape:
            raise self.error(f"slope {list(slope.shape)} does not broadcast to input {list(x.shape)}")
        return [x]


class UnaryOp(Operation):
    """Same shape and type in and out."""

    def infer(self, types):
        return [types[0]]


@register_op
@dataclass(eq=False, kw_only=True)
class Relu(UnaryOp):
    OP_NAME = "relu"


@register_op
@dataclass(eq=False, kw_only=True)
class LeakyRelu(UnaryOp):
    OP_NAME = "leaky_relu"

    alpha: float = 0.01


@register_op
@dataclass(eq=False, kw_only=True)
class Clip(UnaryOp):
    """Clamp to [min, max]; ReLU6 is ``clip {min = 0.0, max = 6.0}``."""

    OP_NAME = "clip"

    min: float = float("-inf")
    max: float = float("inf")


@register_op
@dataclass(eq=False, kw_only=True)
class Sigmoid(UnaryOp):
    OP_NAME = "sigmoid"


@register_op
@dataclass(eq=False, kw_only=True)
class Softplus(UnaryOp):
    """log(1 + exp(x))."""

    OP_NAME = "softplus"


@register_op
@dataclass(eq=False, kw_only=True)
class Tanh(UnaryOp):
    OP_NAME = "tanh"


@register_op
@dataclass(eq=False, kw_only=True)
class HardSigmoid(UnaryOp):
    """max(0, min(1, alpha * x + beta))."""

    OP_NAME = "hard_sigmoid"

    alpha: float = 0.2
    beta: float = 0.5


@register_op
@dataclass(eq=False, kw_only=True)
class HardSwish(UnaryOp):
    """x * max(0, min(1, x / 6 + 0.5))."""

    OP_NAME = "hard_swish"


@register_op
@dataclass(eq=False, kw_only=True)
class Swish(UnaryOp):
    """x * sigmoid(alpha * x); SiLU is alpha = 1 (ONNX Swish, opset 24)."""

    OP_NAME = "swish"

    alpha: float = 1.0


@register_op
@dataclass(eq=False, kw_only=True)
class Mish(UnaryOp):
    """x * tanh(softplus(x))."""

    OP_NAME = "mish"


@register_op
@dataclass(eq=False, kw_only=True)
class Identity(UnaryOp):
    OP_NAME = "identity"


@register_op
@dataclass(eq=False, kw_only=True)
class Dropout(UnaryOp):
    """Identity at inference; kept so that `remove-dropout` has something to remove."""

    OP_NAME = "dropout"

    ratio: float = 0.5


class _SoftmaxLike(UnaryOp):
    axis: int

    def infer(self, types):
        normalize_axis(self, self.axis, types[0].rank)
        return [types[0]]


@register_op
@dataclass(eq=False, kw_only=True)
class Softmax(_SoftmaxLike):
    """Softmax along one axis (ONNX opset >= 13 semantics)."""

    OP_NAME = "softmax"

    axis: int = -1


@register_op
@dataclass(eq=False, kw_only=True)
class LogSoftmax(_SoftmaxLike):
    OP_NAME = "log_softmax"

    axis: int = -1
