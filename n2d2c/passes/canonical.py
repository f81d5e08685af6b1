"""The canonical form that lowerings and the quantizer take as given.

It is what ``recognize-activations``, ``fuse-bn`` then ``fuse-activation`` leave: no
activation written as a subgraph (hard-swish, GELU, max(x, 0), ... are single ops,
see recognize_activations.py; first, so that a relu or relu6 written as max/min
still folds into its producer), no BatchNorm with
constant parameters remains (each is folded into the conv/gemm before it, or is
a Mul+Add), and no ReLU/Clip/LeakyReLU is the only reader of a Conv2d,
ConvTranspose2d, Gemm or Add without an activation (it became that op's
``activation`` attribute).  Consumers state it as a precondition instead of
re-implementing the two fusions: the C lowering lowers ``canonical_form(graph)``
and ``plan-memory`` canonicalises the graph it plans.

The quantizer runs only ``recognize-activations`` and ``fuse-bn``
(``quantization.prepare_graph``): its calibration statistics are keyed by the names of
the user's values, and a fused ReLU would give the conv's result the statistics of the
pre-activation tensor.  A recognised activation keeps the name of the subgraph's final
value, so the statistics of every value that remains still match.  It
reads an activation attribute and the clamps after a layer alike, through
``channel_bounds``.
"""

from __future__ import annotations

from ..ir import Graph
from ..ir.ops import BatchNorm, Clip, LeakyRelu, Relu
from .fuse_activation import FoldIntoProducer
from .fuse_batchnorm import bn_affine
from .pipeline import Pipeline
from .recognize_activations import recognizable

CANONICAL_PIPELINE = "recognize-activations,fuse-bn,fuse-activation"


def is_canonical(graph: Graph) -> bool:
    """Whether ``CANONICAL_PIPELINE`` would leave ``graph`` unchanged (O(ops))."""
    for op in graph.ops:
        if isinstance(op, BatchNorm) and bn_affine(graph, op) is not None:
            return False
        if isinstance(op, (Relu, Clip, LeakyRelu)) and FoldIntoProducer.matches(op, graph):
            return False
    return not recognizable(graph)


def canonicalize(graph: Graph) -> None:
    """Bring ``graph`` into the canonical form, in place."""
    if not is_canonical(graph):
        Pipeline.parse(CANONICAL_PIPELINE).run(graph)


def canonical_form(graph: Graph) -> Graph:
    """``graph`` itself when it is canonical, else a canonicalised copy (``graph`` is
    left as it was)."""
    if is_canonical(graph):
        return graph
    copy = graph.copy()
    Pipeline.parse(CANONICAL_PIPELINE).run(copy)
    return copy
