"""Models and data shared by the quantization tests."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from n2d2c.ir import Graph, TensorType
from n2d2c.ir import ops as O

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DIGITS_MODEL = FIXTURES / "digits_cnn.onnx"
DIGITS_TEST = FIXTURES / "digits_test.npz"
DIGITS_CALIB = FIXTURES / "digits_calib.npz"


@lru_cache(maxsize=None)
def digits_arrays():
    test = np.load(DIGITS_TEST, allow_pickle=False)
    calib = np.load(DIGITS_CALIB, allow_pickle=False)
    return test["x"], test["y"], calib["x"]


def digits_graph() -> Graph:
    from n2d2c.frontend.onnx import load_onnx
    return load_onnx(DIGITS_MODEL)


def _conv(g: Graph, x, w, b, name, **attrs):
    wv = g.constant(np.asarray(w, np.float32), f"{name}.w")
    inputs = [x, wv]
    if b is not None:
        inputs.append(g.constant(np.asarray(b, np.float32), f"{name}.b"))
    return g.add(O.Conv2d(name=name, **attrs), inputs, [name]).output


def _relu(g: Graph, x, name):
    return g.add(O.Relu(name=name), [x], [name]).output


def mobilenet_like(seed: int = 0, imbalance: float = 100.0, size: int = 16) -> Graph:
    """A small MobileNetV2-like network (stem, three inverted residual blocks with
    depthwise 3x3 convs, global pooling, classifier) with ReLU activations.

    ``imbalance`` multiplies a quarter of the expand conv's output channels (and
    divides the depthwise weights reading them), and a quarter of the depthwise
    output channels (dividing the project weights reading them): the function is
    unchanged (ReLU commutes with positive scaling) but per-tensor quantization
    sees weight and activation ranges 100x apart.
    """
    rng = np.random.default_rng(seed)
    g = Graph("mobilenet_like")
    x = g.add_input("input", TensorType((1, 3, size, size)))

    def he(*shape):
        return rng.standard_normal(shape) * np.sqrt(2.0 / int(np.prod(shape[1:])))

    def bias(n):
        return rng.standard_normal(n) * 0.05

    y = _relu(g, _conv(g, x, he(16, 3, 3, 3), bias(16), "stem", pads=(1, 1, 1, 1),
                       strides=(2, 2)), "stem.relu")
    cin = 16
    for i, (cout, stride) in enumerate([(16, 1), (24, 2), (24, 1)]):
        hidden = cin * 4
        we, be = he(hidden, cin, 1, 1), bias(hidden)
        wd, bd = he(hidden, 1, 3, 3), bias(hidden)
        wp, bp = he(cout, hidden, 1, 1), bias(cout)
        k1 = rng.choice(hidden, hidden // 4, replace=False)
        k2 = rng.choice(hidden, hidden // 4, replace=False)
        if imbalance != 1.0:
            we[k1] *= imbalance
            be[k1] *= imbalance
            wd[k1] /= imbalance
            wd[k2] *= imbalance
            bd[k2] *= imbalance
            wp[:, k2] /= imbalance
        h = _relu(g, _conv(g, y, we, be, f"b{i}.expand"), f"b{i}.expand.relu")
        h = _relu(g, _conv(g, h, wd, bd, f"b{i}.dw", pads=(1, 1, 1, 1), strides=(stride, stride),
                           group=hidden), f"b{i}.dw.relu")
        h = _conv(g, h, wp, bp, f"b{i}.project")
        if stride == 1 and cin == cout:
            h = g.add(O.Add(name=f"b{i}.add"), [h, y], [f"b{i}.add"]).output
        y, cin = h, cout
    y = g.add(O.GlobalAvgPool(name="gap"), [y], ["gap"]).output
    y = g.add(O.Reshape(shape=(1, cin), name="flatten"), [y], ["flatten"]).output
    w = g.constant((rng.standard_normal((10, cin)) * 0.3).astype(np.float32), "fc.w")
    b = g.constant(bias(10).astype(np.float32), "fc.b")
    g.outputs = [g.add(O.Gemm(trans_b=True, name="fc"), [y, w, b], ["logits"]).output]
    return g


def smooth_images(n: int, shape, seed: int = 1) -> np.ndarray:
    """Random [0, 1] images, smoothed so that neighbouring pixels correlate."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, *shape))
    x = (x + np.roll(x, 1, -1) + np.roll(x, 1, -2) + np.roll(x, (1, 1), (-1, -2))) / 4
    return x.astype(np.float32)
