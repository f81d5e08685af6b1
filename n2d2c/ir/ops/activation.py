"""The optional activation that `fuse-activation` folds into a producing op.

Conv2d, ConvTranspose2d, Gemm and Add carry four attributes whose defaults mean
"no activation", so graphs printed before they existed read back unchanged:

    activation = "none" | "relu" | "clip" | "leaky_relu"
    activation_min, activation_max   bounds of "clip" (ReLU6 is min 0, max 6)
    activation_alpha                 negative slope of "leaky_relu"

The activation applies element-wise to the op's result, after bias/addition.
"""

from __future__ import annotations

FUSED_ACTIVATIONS = ("none", "relu", "clip", "leaky_relu")


def check_activation(op) -> None:
    """Raise ``op.error`` when the fused activation attributes are inconsistent."""
    if op.activation not in FUSED_ACTIVATIONS:
        raise op.error(f"activation {op.activation!r} is not one of {list(FUSED_ACTIVATIONS)}")
    if op.activation == "clip" and not op.activation_min <= op.activation_max:
        raise op.error(f"activation_min {op.activation_min} exceeds activation_max "
                       f"{op.activation_max}")
