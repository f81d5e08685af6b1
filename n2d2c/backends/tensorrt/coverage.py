"""Which IR ops the TensorRT backend maps, and how: a TensorRT layer, an n2d2c plugin
(``plugins.cpp``, a CUDA kernel TensorRT lacks), or a refusal by name.

``coverage()`` is the table the tests check against the op registry: every op the
frontends produce is in exactly one of the three, so a new op fails a test until
someone decides.  The quantized-IR ops are refused with their own reason: INT8 is
TensorRT's explicit quantization of the float graph (Q/DQ with n2d2c's scales).
"""

from __future__ import annotations

from ...errors import UnsupportedError
from ...ir import Graph

#: Unary functions of the "n2d2c_Unary" plugin: name -> (op code, CUDA body, doc).
PLUGIN_UNARY = {
    "mish": (0, "return x * tanhf(x > 20.0f ? x : log1pf(expf(x)));",
             "x * tanh(softplus(x)), softplus linear above 20 as float32 exp overflows"),
}

#: Ops with no TensorRT equivalent in this backend, and why.
REFUSED = {
    "anchor_boxes": "N2D2's anchor decoding has no TensorRT layer or n2d2c plugin yet",
    "region_proposal": "N2D2's region proposal (sort + NMS) has no TensorRT layer or n2d2c "
                       "plugin yet",
    "roi_pool": "N2D2's ROI pooling has no TensorRT layer or n2d2c plugin yet",
    "max_pool2d_with_indices": "TensorRT pooling does not return the argmax indices",
    "max_unpool2d": "unpooling by indices needs max_pool2d_with_indices",
}
QUANTIZED = ("quantize", "dequantize", "rescale", "lookup", "int_softmax")
QUANTIZED_REASON = ("an op of the quantized integer IR: the TensorRT backend takes the float "
                    "graph, and INT8 is built at run time (-nbbits 8) from n2d2c's "
                    "calibration scales (compile with --calib-data)")


def layer_ops() -> frozenset[str]:
    from .layers import HANDLERS
    return frozenset(HANDLERS) - frozenset(PLUGIN_UNARY)


def coverage() -> dict[str, str]:
    """IR op name -> "layer" | "plugin" | "refused"."""
    table = {name: "layer" for name in layer_ops()}
    table.update({name: "plugin" for name in PLUGIN_UNARY})
    table.update({name: "refused" for name in (*REFUSED, *QUANTIZED)})
    return table


def refuse_unsupported(graph: Graph) -> None:
    """One UnsupportedError naming every node the backend cannot map, with the reason."""
    from .layers import HANDLERS
    refused = []
    for op in graph.ops:
        if op.OP_NAME in HANDLERS:
            continue
        reason = REFUSED.get(op.OP_NAME) or (QUANTIZED_REASON if op.OP_NAME in QUANTIZED
                                             else "no TensorRT mapping")
        refused.append(f"'{op.name or op.outputs[0].name}' ({op.OP_NAME}): {reason}")
    if refused:
        raise UnsupportedError(f"the tensorrt backend cannot map {len(refused)} node(s): "
                               + "; ".join(refused))
