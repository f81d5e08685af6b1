"""Small whole-network ONNX models with random weights, for tests anywhere.

    from frontend_onnx.zoo import MODELS, lenet   # in pytest, tests/ is on sys.path
    model = lenet()              # onnx.ModelProto, deterministic weights

Every builder takes ``seed`` (weights) and ``opset``; shapes are small so that
a simulation takes well under a second.  ``light_model`` loads one of the
model-zoo graphs shipped inside the onnx package, optionally with random
weights instead of its constant fill.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _Builder:
    """Accumulates nodes and initializers; names are made unique by counters."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, array, stem: str = "c") -> str:
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, *shape, fan_in: int | None = None) -> str:
        fan_in = fan_in or int(np.prod(shape[1:]))
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
        return self.const(w, "w")

    def node(self, op: str, inputs, n_out: int = 1, **attrs):
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=self.name(op), **attrs))
        return outs[0] if n_out == 1 else outs

    # -- layers ----------------------------------------------------------------------
    def conv(self, x, c_in, c_out, k, stride=1, pad=None, group=1, bias=True):
        pad = k // 2 if pad is None else pad
        ins = [x, self.weight(c_out, c_in // group, k, k)]
        if bias:
            ins.append(self.const(self.rng.normal(0, 0.1, c_out).astype(np.float32), "b"))
        return self.node("Conv", ins, kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4, group=group)

    def bn(self, x, c):
        r = self.rng
        params = [r.uniform(0.5, 1.5, c), r.normal(0, 0.1, c), r.normal(0, 0.1, c),
                  r.uniform(0.5, 1.5, c)]
        return self.node("BatchNormalization",
                         [x, *(self.const(p.astype(np.float32), "bn") for p in params)],
                         epsilon=1e-5)

    def dense(self, x, n_in, n_out):
        return self.node("Gemm", [x, self.weight(n_out, n_in),
                                  self.const(self.rng.normal(0, 0.1, n_out).astype(np.float32))],
                         transB=1)

    def model(self, name, inputs, outputs, opset) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="n2d2c-tests")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def _io(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def lenet(seed: int = 0, opset: int = OPSET) -> onnx.ModelProto:
    """LeNet-5: conv/relu/maxpool, conv/relu/avgpool, flatten, three Gemm, Softmax."""
    b = _Builder(seed)
    x = b.node("Relu", [b.conv("image", 1, 6, 5, pad=2)])
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Relu", [b.conv(x, 6, 16, 5, pad=0)])
    x = b.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Flatten", [x], axis=1)
    x = b.node("Relu", [b.dense(x, 16 * 5 * 5, 120)])
    x = b.node("Relu", [b.dense(x, 120, 84)])
    b.nodes.append(helper.make_node("Softmax", [b.dense(x, 84, 10)], ["probs"], name="softmax",
                                    axis=1))
    return b.model("lenet", [_io("image", [1, 1, 28, 28])], [_io("probs", [1, 10])], opset)


def resnet(seed: int = 0, opset: int = OPSET) -> onnx.ModelProto:
    """Residual blocks (conv-bn-relu-conv-bn + Add), a strided projection block,
    global average pool, Gemm, Softmax.  The batch is symbolic."""
    b = _Builder(seed)
    x = b.node("Relu", [b.bn(b.conv("input", 3, 8, 3), 8)])

    def block(x, c_in, c_out, stride):
        y = b.node("Relu", [b.bn(b.conv(x, c_in, c_out, 3, stride=stride, bias=False), c_out)])
        y = b.bn(b.conv(y, c_out, c_out, 3, bias=False), c_out)
        skip = x if stride == 1 and c_in == c_out else \
            b.bn(b.conv(x, c_in, c_out, 1, stride=stride, pad=0, bias=False), c_out)
        return b.node("Relu", [b.node("Add", [y, skip])])

    x = block(x, 8, 8, 1)
    x = block(x, 8, 16, 2)
    x = block(x, 16, 16, 1)
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x])
    b.nodes.append(helper.make_node("Softmax", [b.dense(x, 16, 10)], ["probs"], name="softmax",
                                    axis=-1))
    return b.model("resnet", [_io("input", ["batch", 3, 16, 16])],
                   [_io("probs", ["batch", 10])], opset)


def mobilenet(seed: int = 0, opset: int = OPSET) -> onnx.ModelProto:
    """Inverted residual blocks: 1x1 expand, depthwise 3x3, ReLU6 as Clip, 1x1 project,
    Add; a HardSwish block; the classifier reshapes with a Shape/Gather/Concat chain."""
    b = _Builder(seed)

    def relu6(x):
        if opset < 11:
            return b.node("Clip", [x], min=0.0, max=6.0)
        return b.node("Clip", [x, b.const(np.float32(0), "lo"), b.const(np.float32(6), "hi")])

    def inverted(x, c, expand, stride, act=relu6):
        e = c * expand
        y = act(b.bn(b.conv(x, c, e, 1, pad=0, bias=False), e))
        y = act(b.bn(b.conv(y, e, e, 3, stride=stride, group=e, bias=False), e))
        y = b.bn(b.conv(y, e, c, 1, pad=0, bias=False), c)
        return b.node("Add", [x, y]) if stride == 1 else y

    x = relu6(b.bn(b.conv("input", 3, 8, 3, stride=2, bias=False), 8))
    x = inverted(x, 8, 4, 1)
    x = inverted(x, 8, 4, 2)
    x = inverted(x, 8, 2, 1, act=lambda t: b.node("HardSwish", [t]) if opset >= 14 else relu6(t))
    x = b.node("GlobalAveragePool", [x])
    # [N, C, 1, 1] -> [N, C] through a run-time shape computation, as exporters write it.
    shape = b.node("Shape", [x])
    n = b.node("Gather", [shape, b.const(np.int64(0), "i")], axis=0)
    n = b.node("Unsqueeze", [n, b.const(np.array([0], np.int64), "axes")]) if opset >= 13 \
        else b.node("Unsqueeze", [n], axes=[0])
    target = b.node("Concat", [n, b.const(np.array([-1], np.int64), "rest")], axis=0)
    x = b.node("Reshape", [x, target])
    b.nodes.append(helper.make_node("Softmax", [b.dense(x, 8, 10)], ["probs"], name="softmax",
                                    axis=1))
    return b.model("mobilenet", [_io("input", ["N", 3, 32, 32])], [_io("probs", ["N", 10])],
                   opset)


def inception(seed: int = 0, opset: int = OPSET) -> onnx.ModelProto:
    """Two inception modules (1x1 / 3x3 / 5x5 / pool branches joined by Concat), LRN,
    Dropout, and two outputs: auxiliary logits and the Softmax."""
    b = _Builder(seed)
    x = b.node("Relu", [b.conv("data", 3, 16, 3)])
    x = b.node("LRN", [x], size=5, alpha=1e-4, beta=0.75, bias=1.0)

    def module(x, c_in, c):
        a = b.node("Relu", [b.conv(x, c_in, c, 1, pad=0)])
        t = b.node("Relu", [b.conv(b.node("Relu", [b.conv(x, c_in, c, 1, pad=0)]), c, c, 3)])
        f = b.node("Relu", [b.conv(b.node("Relu", [b.conv(x, c_in, c, 1, pad=0)]), c, c, 5)])
        p = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
        p = b.node("Relu", [b.conv(p, c_in, c, 1, pad=0)])
        return b.node("Concat", [a, t, f, p], axis=1)

    x = module(x, 16, 8)
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2],
               **({"ceil_mode": 1} if opset >= 10 else {"pads": [0, 0, 1, 1]}))
    x = module(x, 32, 8)
    x = b.node("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               count_include_pad=1)
    x = b.node("Flatten", [b.node("Dropout", [x], ratio=0.4) if opset < 12
                           else b.node("Dropout", [x])])
    feat = 32 * 4 * 4
    logits = b.node("Add", [b.node("MatMul", [x, b.weight(feat, 10, fan_in=feat)]),
                            b.const(np.zeros(10, np.float32), "bias")])
    b.nodes.append(helper.make_node("Identity", [logits], ["aux"], name="aux_out"))
    b.nodes.append(helper.make_node("Softmax", [logits], ["probs"], name="softmax", axis=1))
    return b.model("inception", [_io("data", [1, 3, 15, 15])],
                   [_io("aux", [1, 10]), _io("probs", [1, 10])], opset)


def unet(seed: int = 0, opset: int = OPSET) -> onnx.ModelProto:
    """Encoder/decoder: strided conv down, ConvTranspose and Resize up, Pad, Slice,
    Concat skips, PRelu and LeakyRelu, Sigmoid output."""
    b = _Builder(seed)
    e1 = b.node("LeakyRelu", [b.conv("image", 3, 8, 3)], alpha=0.1)
    e2 = b.node("PRelu", [b.conv(e1, 8, 16, 3, stride=2),
                          b.const(np.full((16, 1, 1), 0.25, np.float32), "slope")])
    mid = b.node("Relu", [b.conv(e2, 16, 16, 3)])
    up = b.node("ConvTranspose", [mid, b.weight(16, 8, 2, 2)], strides=[2, 2])
    d1 = b.node("Relu", [b.conv(b.node("Concat", [up, e1], axis=1), 16, 8, 3)])
    scales = b.const(np.array([1, 1, 2, 2], np.float32), "scales")
    if opset >= 11:  # roi became optional at 13; Resize replaced Upsample at 10
        roi = "" if opset >= 13 else b.const(np.zeros(0, np.float32), "roi")
        half = b.node("Resize", [mid, roi, scales], mode="linear")
    else:
        half = b.node("Resize" if opset == 10 else "Upsample", [mid, scales], mode="nearest")
    # Keep 8 of the 16 channels, crop one pixel all round, then reflect-pad it back.
    starts, ends, axes, pads = [0, 1, 1], [8, -1, 15], [1, 2, 3], [0, 0, 1, 1, 0, 0, 1, 1]
    if opset >= 10:  # Slice and Pad moved their attributes to inputs at 10 and 11
        half = b.node("Slice", [half, *(b.const(np.array(v, np.int64), "s")
                                        for v in (starts, ends, axes))])
    else:
        half = b.node("Slice", [half], starts=starts, ends=ends, axes=axes)
    if opset >= 11:
        half = b.node("Pad", [half, b.const(np.array(pads, np.int64), "pads")], mode="reflect")
    else:
        half = b.node("Pad", [half], pads=pads, mode="reflect")
    x = b.node("Concat", [d1, half], axis=1)
    x = b.conv(x, 16, 1, 1, pad=0)
    b.nodes.append(helper.make_node("Sigmoid", [x], ["mask"], name="sigmoid"))
    return b.model("unet", [_io("image", [1, 3, 16, 16])], [_io("mask", [1, 1, 16, 16])], opset)


MODELS = {"lenet": lenet, "resnet": resnet, "mobilenet": mobilenet, "inception": inception,
          "unet": unet}

LIGHT_DIR = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"


def light_models() -> list[str]:
    """Names of the model-zoo graphs shipped with onnx (alexnet, resnet50, ...)."""
    return sorted(p.stem[len("light_"):] for p in LIGHT_DIR.glob("light_*.onnx"))


def light_model(name: str, randomize: bool = False, seed: int = 0) -> onnx.ModelProto:
    """A shipped model-zoo graph.  Its weights are ConstantOfShape fills of 0.02,
    which make every output equal; ``randomize`` swaps them for random initializers
    so that comparing with onnxruntime means something."""
    model = onnx.load(LIGHT_DIR / f"light_{name}.onnx")
    if not randomize:
        return model
    rng = np.random.default_rng(seed)
    shapes = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    keep = []
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            shape = tuple(int(d) for d in shapes[node.input[0]])
            if len(shape) > 1:
                w = rng.normal(0, np.sqrt(1.0 / max(int(np.prod(shape[1:])), 1)), shape)
            else:  # biases, BN parameters: positive, so variances stay valid
                w = rng.uniform(0.5, 1.5, shape)
            model.graph.initializer.append(numpy_helper.from_array(w.astype(np.float32),
                                                                   node.output[0]))
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    model.ir_version = max(model.ir_version, 4)  # IR 3 wanted every initializer as an input
    return model
