"""Reference networks with seeded random weights, shared by the demo, the tests and
the benchmarks.  Each function returns an ``onnx.ModelProto`` with one input
``input`` (NCHW) and one output ``output``."""

from __future__ import annotations

import onnx

from .lenet import lenet
from .onnx_builder import OnnxBuilder

__all__ = ["dbnet_like", "inception_like", "lenet", "mobilenet_v2", "mobilenet_v3_like",
           "resnet18", "squeezenet11", "ZOO"]


def resnet18(size: int = 64, classes: int = 1000, seed: int = 0, width: int = 64) -> onnx.ModelProto:
    """ResNet-18 (basic blocks 2-2-2-2) with BatchNorm, at ``size`` x ``size``."""
    b = OnnxBuilder("resnet18", (1, 3, size, size), seed)
    x = b.relu(b.bn(b.conv(b.input, width, 7, stride=2, bias=False)))
    x = b.maxpool(x, 3, 2, pad=1)
    for stage, mult in enumerate((1, 2, 4, 8)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            y = b.relu(b.bn(b.conv(x, width * mult, 3, stride, bias=False)))
            y = b.bn(b.conv(y, width * mult, 3, 1, bias=False))
            shortcut = x
            if stride != 1 or b.channels[x] != width * mult:
                shortcut = b.bn(b.conv(x, width * mult, 1, stride, pad=0, bias=False))
            x = b.relu(b.add(y, shortcut))
    x = b.flatten(b.global_avgpool(x))
    return b.model(b.softmax(b.fc(x, classes)))


_MBV2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2(size: int = 224, width: float = 1.0, classes: int = 1000, seed: int = 0,
                 batchnorm: bool = False) -> onnx.ModelProto:
    """MobileNetV2: inverted residual blocks, depthwise 3x3, ReLU6 (BN folded unless asked)."""
    def ch(c):
        return max(8, int(c * width + 4) // 8 * 8)

    b = OnnxBuilder("mobilenet_v2", (1, 3, size, size), seed)

    def conv_act(x, cout, k, stride, group=1, act=True):
        y = b.conv(x, cout, k, stride, group=group, bias=not batchnorm)
        if batchnorm:
            y = b.bn(y)
        return b.relu6(y) if act else y

    x = conv_act(b.input, ch(32), 3, 2)
    for t, c, n, s in _MBV2_STAGES:
        for i in range(n):
            stride = s if i == 0 else 1
            cin = b.channels[x]
            y = conv_act(x, cin * t, 1, 1) if t != 1 else x
            y = conv_act(y, cin * t, 3, stride, group=cin * t)
            y = conv_act(y, ch(c), 1, 1, act=False)
            x = b.add(y, x) if stride == 1 and cin == ch(c) else y
    x = conv_act(x, 1280 if width <= 1.0 else ch(1280), 1, 1)
    x = b.flatten(b.global_avgpool(x))
    return b.model(b.softmax(b.fc(x, classes)))


def inception_like(size: int = 32, classes: int = 10, seed: int = 0) -> onnx.ModelProto:
    """Two inception blocks (1x1, 3x3, 5x5 and pool branches concatenated)."""
    b = OnnxBuilder("inception_like", (1, 3, size, size), seed)
    x = b.relu(b.conv(b.input, 32, 3, 1))
    for width in (16, 24):
        branches = [b.relu(b.conv(x, width, 1, pad=0)),
                    b.relu(b.conv(b.relu(b.conv(x, width, 1, pad=0)), width * 2, 3)),
                    b.relu(b.conv(b.relu(b.conv(x, width // 2, 1, pad=0)), width, 5)),
                    b.relu(b.conv(b.maxpool(x, 3, 1, pad=1), width, 1, pad=0))]
        x = b.maxpool(b.concat(branches), 2, 2)
    x = b.flatten(b.global_avgpool(x))
    return b.model(b.softmax(b.fc(x, classes)))


def squeezenet11(size: int = 224, classes: int = 1000, seed: int = 0) -> onnx.ModelProto:
    """SqueezeNet 1.1: fire modules (squeeze 1x1, expand 1x1 + 3x3 concatenated)."""
    b = OnnxBuilder("squeezenet11", (1, 3, size, size), seed)

    def fire(x, squeeze, expand):
        s = b.relu(b.conv(x, squeeze, 1, pad=0))
        return b.concat([b.relu(b.conv(s, expand, 1, pad=0)), b.relu(b.conv(s, expand, 3))])

    x = b.maxpool(b.relu(b.conv(b.input, 64, 3, 2, pad=0)), 3, 2)
    x = b.maxpool(fire(fire(x, 16, 64), 16, 64), 3, 2)
    x = b.maxpool(fire(fire(x, 32, 128), 32, 128), 3, 2)
    x = fire(fire(fire(fire(x, 48, 192), 48, 192), 64, 256), 64, 256)
    x = b.relu(b.conv(x, classes, 1, pad=0))
    return b.model(b.softmax(b.flatten(b.global_avgpool(x))))


# (expansion, out channels, kernel, stride, squeeze-excite, hard-swish) per block
_MBV3_BLOCKS = [(1, 16, 3, 2, True, False), (4, 24, 3, 2, False, False),
                (3, 24, 3, 1, False, False), (4, 40, 5, 2, True, True),
                (6, 40, 5, 1, True, True), (6, 48, 5, 2, True, True)]


def _mbv3_backbone(b: OnnxBuilder, width: float = 1.0) -> list[str]:
    """MobileNetV3-small-like blocks; the feature maps after each stride-2 stage."""
    def ch(c):
        return max(8, int(c * width + 4) // 8 * 8)

    x = b.hard_swish(b.conv(b.input, ch(16), 3, 2))
    features = []
    for i, (t, c, k, s, se, hs) in enumerate(_MBV3_BLOCKS):
        cin = b.channels[x]
        act = b.hard_swish if hs else b.relu
        y = act(b.conv(x, cin * t, 1, pad=0)) if t != 1 else x
        y = act(b.conv(y, b.channels[y], k, s, group=b.channels[y]))
        if se:
            y = b.squeeze_excite(y)
        y = b.conv(y, ch(c), 1, pad=0)
        x = b.add(y, x) if s == 1 and cin == ch(c) else y
        if i + 1 == len(_MBV3_BLOCKS) or _MBV3_BLOCKS[i + 1][3] == 2:
            features.append(x)
    return features


def mobilenet_v3_like(size: int = 64, classes: int = 10, seed: int = 0,
                      width: float = 1.0) -> onnx.ModelProto:
    """MobileNetV3-small-like classifier: hard-swish written ``x * clip(x + 3, 0, 6) / 6``,
    squeeze-excite gates (hard-sigmoid) applied by a broadcast Mul."""
    b = OnnxBuilder("mobilenet_v3_like", (1, 3, size, size), seed)
    x = _mbv3_backbone(b, width)[-1]
    x = b.hard_swish(b.conv(x, b.channels[x] * 6, 1, pad=0))
    x = b.hard_swish(b.conv(b.global_avgpool(x), 128, 1, pad=0))
    return b.model(b.softmax(b.fc(b.flatten(x), classes)))


def dbnet_like(size: int = 64, seed: int = 0, inner: int = 32) -> onnx.ModelProto:
    """A DBNet-style text detector: the MobileNetV3-like backbone at four scales, an FPN
    (1x1 lateral convs, nearest up-sampling, adds), each level brought to 1/4 by a
    nearest or bilinear Resize, the four concatenated, a head with a ConvTranspose
    up-sampling and a sigmoid probability map."""
    b = OnnxBuilder("dbnet_like", (1, 3, size, size), seed)
    c2, c3, c4, c5 = _mbv3_backbone(b)
    lateral = [b.conv(c, inner, 1, pad=0) for c in (c2, c3, c4, c5)]
    p = lateral[3]
    tops = [p]
    for lat in reversed(lateral[:3]):
        p = b.add(b.resize(p, 2), lat)
        tops.append(p)
    p5, p4, p3, p2 = tops
    levels = [b.conv(p2, inner // 4, 3),
              b.resize(b.conv(p3, inner // 4, 3), 2),
              b.resize(b.conv(p4, inner // 4, 3), 4, mode="linear"),
              b.resize(b.conv(p5, inner // 4, 3), 8)]
    fuse = b.concat(levels)
    h = b.relu(b.conv(fuse, inner // 4, 3))
    h = b.relu(b.conv_transpose(h, inner // 4))
    return b.model(b.sigmoid(b.conv_transpose(h, 1)))


ZOO = {
    "lenet": lenet,
    "resnet18": resnet18,
    "mobilenet_v2": mobilenet_v2,
    "inception_like": inception_like,
    "squeezenet11": squeezenet11,
    "mobilenet_v3_like": mobilenet_v3_like,
    "dbnet_like": dbnet_like,
}
