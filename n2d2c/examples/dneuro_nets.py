"""Small quantized networks written directly in the integer IR (random integer weights):
the DNeuro backend's tests and benchmark stream them through GHDL."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, TensorType, ops


class Builder:
    def __init__(self, name: str, shape, seed: int = 0, scale: float = 0.05):
        self.rng = np.random.default_rng(seed)
        self.g = Graph(name)
        x = self.g.add_input("x", TensorType(shape))
        self.x = self.g.add(ops.Quantize(name="q", scale=scale, dtype="i8"), [x]).output
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}{self.n}"

    def rescale(self, acc, shift=8, relu=False, mode="single-shift", channels=None, dtype=None):
        kw = {"mode": mode, "shifts": (shift,)}
        if mode == "fixed-point16":
            kw["multipliers"] = tuple(int(v) for v in self.rng.integers(8000, 30000, channels))
            kw["shifts"] = (shift + 14,)
        if mode == "double-shift":
            kw["left_shifts"] = (2,)
            kw["shifts"] = (shift + 2,)
        if relu:
            kw.update(out_min=(0,), out_max=(255,), dtype="u8")
        elif dtype:
            kw["dtype"] = dtype
        return self.g.add(ops.Rescale(name=self.name("rs"), **kw), [acc]).output

    def conv(self, x, m, k, stride=1, pads=None, group=1, **rq):
        c = x.shape[1]
        pads = (k // 2,) * 4 if pads is None else pads
        w = self.g.constant(self.rng.integers(-127, 128, (m, c // group, k, k)).astype(np.int8),
                            self.name("w"))
        b = self.g.constant(self.rng.integers(-800, 800, m).astype(np.int32), self.name("b"))
        acc = self.g.add(ops.Conv2d(name=self.name("conv"), pads=pads, strides=(stride, stride),
                                    group=group), [x, w, b]).output
        return self.rescale(acc, channels=m, **rq)

    def fc(self, x, m, **rq):
        k = int(np.prod(x.shape[1:]))
        flat = self.g.add(ops.Reshape(name=self.name("flatten"), shape=(1, k)), [x]).output
        w = self.g.constant(self.rng.integers(-127, 128, (m, k)).astype(np.int8), self.name("w"))
        b = self.g.constant(self.rng.integers(-800, 800, m).astype(np.int32), self.name("b"))
        acc = self.g.add(ops.Gemm(name=self.name("fc"), trans_b=True), [flat, w, b]).output
        return self.rescale(acc, channels=m, **rq)

    def maxpool(self, x, k, stride, pads=(0, 0, 0, 0), ceil_mode=False):
        return self.g.add(ops.MaxPool2d(name=self.name("pool"), kernel=(k, k),
                                        strides=(stride, stride), pads=pads,
                                        ceil_mode=ceil_mode), [x]).output

    def add(self, a, b, shift=1, relu=False):
        s = self.g.add(ops.Add(name=self.name("sum")), [a, b]).output
        return self.rescale(s, shift=shift, relu=relu)

    def done(self, y, scale=0.1):
        self.g.outputs = [self.g.add(ops.Dequantize(name="out", scale=scale), [y]).output]
        return self.g


def lenet_like(seed=0):
    b = Builder("lenet_like", (1, 1, 16, 16), seed)
    y = b.conv(b.x, 6, 5, pads=(0, 0, 0, 0), relu=True, shift=7)
    y = b.maxpool(y, 2, 2)
    y = b.conv(y, 8, 3, pads=(0, 0, 0, 0), relu=True, shift=10)
    y = b.maxpool(y, 2, 2)
    y = b.fc(y, 10, shift=10)
    return b.done(y)


def residual_block(seed=1):
    b = Builder("residual", (1, 4, 8, 8), seed)
    x = b.conv(b.x, 6, 3, relu=True, shift=8)
    y = b.conv(x, 6, 3, relu=True, shift=9)
    y = b.conv(y, 6, 3, shift=10, dtype="u8", relu=True)
    return b.done(b.add(x, y, relu=True))


def depthwise_separable(seed=2):
    b = Builder("dw_separable", (1, 4, 9, 9), seed)
    y = b.conv(b.x, 8, 3, stride=2, relu=True, shift=8)
    y = b.conv(y, 8, 3, group=8, relu=True, shift=8, mode="double-shift")
    y = b.conv(y, 12, 1, relu=True, shift=9, mode="fixed-point16")
    return b.done(y)


def quantized_lenet28():
    """zoo.lenet quantized in Single-shift mode, up to its logits (DNeuro has no Softmax:
    its .Target sorts the logits)."""
    from .. import quantization
    from ..frontend.onnx import load_onnx
    from . import zoo
    graph = load_onnx(zoo.lenet(seed=3))
    calib = np.random.default_rng(3).uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32)
    qgraph, _ = quantization.quantize_graph(graph, calib, {"nbbits": 8,
                                                           "act-rescaling-mode": "Single-shift"})
    softmax = qgraph.outputs[0].producer
    qgraph.outputs = [softmax.inputs[0]]
    qgraph.remove_dead_ops()
    return qgraph


NETWORKS = {"lenet_like": lenet_like, "residual_block": residual_block,
            "depthwise_separable": depthwise_separable, "quantized_lenet28": quantized_lenet28}
