"""A tiny fluent builder for ONNX test/benchmark models with seeded weights."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class OnnxBuilder:
    """Collects nodes and initializers; every method returns the output tensor name."""

    def __init__(self, name: str, input_shape: tuple[int, ...], seed: int = 0,
                 input_name: str = "input"):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.input_shape = tuple(input_shape)
        self.input = input_name
        self.channels = {input_name: input_shape[1] if len(input_shape) > 1 else 0}
        self._count: dict[str, int] = {}

    # -- naming -------------------------------------------------------------------
    def fresh(self, stem: str) -> str:
        k = self._count.get(stem, 0)
        self._count[stem] = k + 1
        return f"{stem}{k}"

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs: list[str], stem: str | None = None, channels=None,
             **attrs) -> str:
        name = self.fresh(stem or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        self.channels[name] = channels if channels is not None else self.channels.get(inputs[0], 0)
        return name

    # -- layers -------------------------------------------------------------------
    def conv(self, x: str, cout: int, k: int = 3, stride: int = 1, pad: int | None = None,
             group: int = 1, bias: bool = True, dilation: int = 1) -> str:
        cin = self.channels[x]
        pad = (k // 2) * dilation if pad is None else pad
        name = self.fresh("conv")
        fan_in = cin // group * k * k
        w = (self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in))
        inputs = [x, self.init(f"{name}.w", w.astype(np.float32))]
        if bias:
            inputs.append(self.init(f"{name}.b", (self.rng.standard_normal(cout) * 0.05)
                                    .astype(np.float32)))
        self.nodes.append(helper.make_node(
            "Conv", inputs, [name], name=name, kernel_shape=[k, k], strides=[stride, stride],
            pads=[pad] * 4, group=group, dilations=[dilation, dilation]))
        self.channels[name] = cout
        return name

    def bn(self, x: str) -> str:
        c = self.channels[x]
        name = self.fresh("bn")
        params = [self.rng.uniform(0.5, 1.5, c), self.rng.standard_normal(c) * 0.1,
                  self.rng.standard_normal(c) * 0.1, self.rng.uniform(0.5, 1.5, c)]
        names = [self.init(f"{name}.{p}", a.astype(np.float32))
                 for p, a in zip(("scale", "bias", "mean", "var"), params)]
        self.nodes.append(helper.make_node("BatchNormalization", [x, *names], [name], name=name,
                                           epsilon=1e-5))
        self.channels[name] = c
        return name

    def relu(self, x: str) -> str:
        return self.node("Relu", [x])

    def relu6(self, x: str) -> str:
        lo = self.init(self.fresh("zero"), np.array(0.0, np.float32))
        hi = self.init(self.fresh("six"), np.array(6.0, np.float32))
        return self.node("Clip", [x, lo, hi], stem="relu6_")

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b])

    def concat(self, xs: list[str]) -> str:
        return self.node("Concat", xs, channels=sum(self.channels[x] for x in xs), axis=1)

    def maxpool(self, x: str, k: int, stride: int, pad: int = 0) -> str:
        return self.node("MaxPool", [x], kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4)

    def avgpool(self, x: str, k: int, stride: int, pad: int = 0) -> str:
        return self.node("AveragePool", [x], kernel_shape=[k, k], strides=[stride, stride],
                         pads=[pad] * 4)

    def global_avgpool(self, x: str) -> str:
        return self.node("GlobalAveragePool", [x])

    def flatten(self, x: str) -> str:
        return self.node("Flatten", [x], axis=1)

    def fc(self, x: str, cout: int) -> str:
        cin = self.channels[x]
        name = self.fresh("fc")
        w = self.rng.standard_normal((cout, cin)) * np.sqrt(2.0 / cin)
        inputs = [x, self.init(f"{name}.w", w.astype(np.float32)),
                  self.init(f"{name}.b", (self.rng.standard_normal(cout) * 0.05).astype(np.float32))]
        self.nodes.append(helper.make_node("Gemm", inputs, [name], name=name, transB=1))
        self.channels[name] = cout
        return name

    def softmax(self, x: str) -> str:
        return self.node("Softmax", [x], axis=1)

    def scalar(self, value: float) -> str:
        return self.init(self.fresh("c"), np.array(value, np.float32))

    def hard_swish(self, x: str) -> str:
        """``x * clip(x + 3, 0, 6) / 6``, spelled out as exporters write it."""
        gate = self.node("Clip", [self.node("Add", [x, self.scalar(3.0)]), self.scalar(0.0),
                                  self.scalar(6.0)])
        return self.node("Div", [self.node("Mul", [x, gate]), self.scalar(6.0)])

    def hard_sigmoid(self, x: str) -> str:
        """``clip(x + 3, 0, 6) / 6`` (MobileNetV3's squeeze-excite gate)."""
        return self.node("Div", [self.node("Clip", [self.node("Add", [x, self.scalar(3.0)]),
                                                    self.scalar(0.0), self.scalar(6.0)]),
                                 self.scalar(6.0)])

    def squeeze_excite(self, x: str, reduce: int = 4) -> str:
        """Global average pool -> 1x1 conv -> relu -> 1x1 conv -> hard-sigmoid, and the
        gate broadcast over the feature map by a Mul."""
        c = self.channels[x]
        s = self.relu(self.conv(self.global_avgpool(x), max(8, c // reduce), 1, pad=0))
        gate = self.hard_sigmoid(self.conv(s, c, 1, pad=0))
        return self.node("Mul", [x, gate])

    def sigmoid(self, x: str) -> str:
        return self.node("Sigmoid", [x])

    def resize(self, x: str, factor: int, mode: str = "nearest") -> str:
        """Up-sampling by ``factor`` (Resize-13 with scales; bilinear as half_pixel)."""
        roi = self.init(self.fresh("roi"), np.zeros(0, np.float32))
        scales = self.init(self.fresh("scales"), np.array([1, 1, factor, factor], np.float32))
        attrs = {"mode": mode}
        if mode == "nearest":
            attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        else:
            attrs["coordinate_transformation_mode"] = "half_pixel"
        return self.node("Resize", [x, roi, scales], **attrs)

    def conv_transpose(self, x: str, cout: int, k: int = 2, stride: int = 2) -> str:
        cin = self.channels[x]
        name = self.fresh("deconv")
        w = self.rng.standard_normal((cin, cout, k, k)) * np.sqrt(2.0 / (cin * k * k))
        b = self.rng.standard_normal(cout) * 0.05
        self.nodes.append(helper.make_node(
            "ConvTranspose", [x, self.init(f"{name}.w", w.astype(np.float32)),
                              self.init(f"{name}.b", b.astype(np.float32))], [name],
            name=name, kernel_shape=[k, k], strides=[stride, stride]))
        self.channels[name] = cout
        return name

    # -- result -------------------------------------------------------------------
    def model(self, output: str, opset: int = 13) -> onnx.ModelProto:
        self.nodes.append(helper.make_node("Identity", [output], ["output"], name="output"))
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(self.input, TensorProto.FLOAT, list(self.input_shape))],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
            initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="n2d2c-examples")
        model.ir_version = 8
        model = onnx.shape_inference.infer_shapes(model)
        onnx.checker.check_model(model)
        return model
