"""``Fc`` (fully connected) layers.

The input is flattened channel-major (NCHW order, as N2D2 numbers an Fc's
inputs); several inputs are flattened and concatenated in ``Input=`` order.
The result is a 2-D ``[N, NbOutputs]`` tensor (the shape an ONNX Gemm gives).
``Normalize=1`` (an Fc configuration parameter used for AM-Softmax) scales each
output's weight vector to unit L2 norm.
"""

from __future__ import annotations

import numpy as np

from ....ir import Value
from ....ir import ops as O
from ..context import LayerContext
from . import layer


@layer("Fc", concat=False)
def fc(ctx: LayerContext) -> Value:
    props = ctx.props
    outputs = ctx.nb_outputs()
    flats = [ctx.flat(v) for v in ctx.inputs]
    x = flats[0] if len(flats) == 1 else ctx.emit(O.Concat(axis=1), flats, "concat")
    inputs = x.shape[1]
    bias = not props.bool("NoBias", False)
    w, b = ctx.dense_params(outputs, inputs, bias=bias)
    if props.bool("Normalize", False):
        norms = np.linalg.norm(w.astype(np.float64), axis=1, keepdims=True)
        w = (w / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        ctx.info["normalized_weights"] = True
    operands = [x, ctx.const(w, "weights")]
    if b is not None:
        operands.append(ctx.const(b, "biases"))
    return ctx.emit(O.Gemm(trans_b=True), operands, "gemm")
