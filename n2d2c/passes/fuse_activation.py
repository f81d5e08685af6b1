"""`fuse-activation`: fold ReLU / Clip (ReLU6) / LeakyReLU into the op producing
their input, using the ``activation`` attributes of Conv2d, ConvTranspose2d,
Gemm and Add (see n2d2c/ir/ops/activation.py).

Fires only when the activation is the producer's only reader, the producer has
no activation yet, and the producer's result is not a graph output (it would
change).  The fused op keeps the producer's name; if the activation's result
was a graph output, the fused result takes that name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..ir import Graph, Operation
from ..ir.ops import Clip, FusedActivation, LeakyRelu, Relu
from .base import Pass, PassResult
from .pattern import RewritePattern, apply_patterns, forward, sole_user
from .registry import register_pass

def activation_attributes(act: Operation) -> dict[str, object]:
    """The producer attributes that express ``act``."""
    if isinstance(act, Relu) or (isinstance(act, Clip) and act.min == 0
                                 and act.max == math.inf):
        return {"activation": "relu"}
    if isinstance(act, Clip):
        return {"activation": "clip", "activation_min": act.min, "activation_max": act.max}
    return {"activation": "leaky_relu", "activation_alpha": act.alpha}


class FoldIntoProducer(RewritePattern):
    """relu(conv(x)) ⇒ conv(x) {activation = "relu"}."""

    roots = (Relu, Clip, LeakyRelu)

    @staticmethod
    def matches(act: Operation, graph: Graph) -> bool:
        producer = act.inputs[0].producer
        return (isinstance(producer, FusedActivation) and not producer.has_activation
                and sole_user(graph, producer.output) is act)

    def match_and_rewrite(self, act: Operation, graph: Graph) -> bool:
        if not self.matches(act, graph):
            return False
        producer = act.inputs[0].producer
        for key, value in activation_attributes(act).items():
            setattr(producer, key, value)
        forward(graph, act, producer.output)
        return True


@register_pass
@dataclass(frozen=True)
class FuseActivation(Pass):
    """Fold ReLU/Clip/LeakyReLU into the conv, gemm or add that produces their input."""

    name = "fuse-activation"

    def apply(self, graph: Graph) -> PassResult:
        counts = apply_patterns(graph, [FoldIntoProducer()])
        return PassResult({"fused": counts["FoldIntoProducer"]})
