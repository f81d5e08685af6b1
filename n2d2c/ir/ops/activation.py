"""The optional activation that `fuse-activation` folds into a producing op.

Conv2d, ConvTranspose2d, Gemm and Add derive from ``FusedActivation``, which
gives them four attributes whose defaults mean "no activation", so graphs
printed before they existed read back unchanged:

    activation = "none" | "relu" | "clip" | "leaky_relu"
    activation_min, activation_max   bounds of "clip" (ReLU6 is min 0, max 6)
    activation_alpha                 negative slope of "leaky_relu"

The activation applies element-wise to the op's result, after bias/addition.
"""

from __future__ import annotations

import math

FUSED_ACTIVATIONS = ("none", "relu", "clip", "leaky_relu")

# name: (annotation, default), in the order they are printed.
_FIELDS = {
    "activation": ("str", "none"),
    "activation_min": ("float", -math.inf),
    "activation_max": ("float", math.inf),
    "activation_alpha": ("float", 0.01),
}


class FusedActivation:
    """Mixin of the ops that can carry a fused activation.

    Dataclass fields of a base class come before the subclass's own, but the
    textual IR has always printed these four after the op's other attributes;
    so instead of declaring them here, every subclass gets them appended to its
    own fields when it is created (before ``@dataclass`` reads the class).
    """

    activation: str
    activation_min: float
    activation_max: float
    activation_alpha: float

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "activation" in getattr(cls, "__dataclass_fields__", {}):
            return  # a subclass of an op that has them already
        own = dict(cls.__dict__.get("__annotations__", {}))
        for name, (annotation, default) in _FIELDS.items():
            own[name] = annotation
            setattr(cls, name, default)
        cls.__annotations__ = own

    @property
    def has_activation(self) -> bool:
        return self.activation != "none"

    def activation_range(self) -> tuple[float, float]:
        """(lo, hi) that the fused activation clamps its result to; (-inf, inf) when
        it does not clamp (none, leaky_relu)."""
        if self.activation == "relu":
            return 0.0, math.inf
        if self.activation == "clip":
            return self.activation_min, self.activation_max
        return -math.inf, math.inf


def check_activation(op) -> None:
    """Raise ``op.error`` when the fused activation attributes are inconsistent."""
    if op.activation not in FUSED_ACTIVATIONS:
        raise op.error(f"activation {op.activation!r} is not one of {list(FUSED_ACTIVATIONS)}")
    if op.activation == "clip" and not op.activation_min <= op.activation_max:
        raise op.error(f"activation_min {op.activation_min} exceeds activation_max "
                       f"{op.activation_max}")


def activate(xp, op, y):
    """Apply ``op``'s fused activation in place to ``y``, a result its caller owns, with
    the array module ``xp`` (numpy, or cupy on the GPU): the one rule that every
    simulator path and constant folding use."""
    kind = getattr(op, "activation", "none")
    if kind == "none":
        return y
    y = xp.asarray(y)  # a 0-d numpy result may come back as a scalar
    if kind == "relu":
        xp.maximum(y, 0, out=y)
    elif kind == "clip":
        xp.clip(y, op.activation_min, op.activation_max, out=y)
    elif kind == "leaky_relu":
        xp.multiply(y, xp.where(y < 0, y.dtype.type(op.activation_alpha), y.dtype.type(1)),
                    out=y)
    else:
        raise op.error(f"activation {kind!r} is not one of {list(FUSED_ACTIVATIONS)}")
    return y
