"""Graphs for the pass tests: a MobileNetV2-like network and random layer chains."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from n2d2c.errors import ShapeError
from n2d2c.ir import Graph, TensorType, Value
from n2d2c.ir import ops as O


def copy_graph(graph: Graph) -> Graph:
    """A deep copy: same names, attributes and constants (arrays copied)."""
    new = Graph(graph.name)
    values = {id(v): new.add_input(v.name, v.type) for v in graph.inputs}
    for op in graph.ops:
        attrs = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                 for k, v in op.attributes().items()}
        clone = new.add(type(op)(name=op.name, **attrs), [values[id(v)] for v in op.inputs],
                        [v.name for v in op.outputs], types=[v.type for v in op.outputs])
        values.update((id(a), b) for a, b in zip(op.outputs, clone.outputs))
    new.outputs = [values[id(v)] for v in graph.outputs]
    return new


class Builder:
    """Graph API shorthand with random weights."""

    def __init__(self, graph: Graph, rng: np.random.Generator):
        self.g = graph
        self.rng = rng

    def const(self, array, name):
        return self.g.constant(np.asarray(array, np.float32), name=name)

    def conv(self, x: Value, out: int, k: int, name: str, *, stride=1, pad=0, group=1,
             bias=True, channel_scale=None):
        cin = x.shape[1]
        w = self.rng.standard_normal((out, cin // group, k, k)) / np.sqrt(cin // group * k * k)
        if channel_scale is not None:
            w *= channel_scale[:, None, None, None]
        ins = [x, self.const(w, f"{name}.w")]
        if bias:
            ins.append(self.const(0.1 * self.rng.standard_normal(out), f"{name}.b"))
        op = O.Conv2d(strides=(stride, stride), pads=(pad,) * 4, group=group)
        return self.g.add(op, ins, [name]).output

    def bn(self, x: Value, name: str, *, scale_range=(0.5, 2.0)):
        c = x.shape[1]
        lo, hi = np.log(scale_range)
        params = [np.exp(self.rng.uniform(lo, hi, c)) * self.rng.choice([-1, 1], c),
                  0.2 * self.rng.standard_normal(c), 0.2 * self.rng.standard_normal(c),
                  self.rng.uniform(0.5, 2.0, c)]
        consts = [self.const(p, f"{name}.{role}")
                  for p, role in zip(params, ("scale", "bias", "mean", "var"))]
        return self.g.add(O.BatchNorm(), [x, *consts], [name]).output

    def unary(self, op, x: Value, name: str):
        return self.g.add(op, [x], [name]).output


def mobilenet_v2_like(seed: int = 0, *, unbalanced: bool = True, with_bn: bool = False) -> Graph:
    """Inverted residual blocks: 1x1 expand → ReLU6 → 3x3 depthwise → ReLU6 → 1x1
    project (+ residual), then global pooling and a classifier.

    ``unbalanced`` multiplies every conv's output channels by factors spread
    over four decades (as BN folding does to real networks); ``with_bn`` adds a
    BatchNorm after every conv instead, with such scales.
    """
    rng = np.random.default_rng(seed)
    g = Graph("mobilenet_v2_like")
    b = Builder(g, rng)
    x = g.add_input("input", TensorType((1, 3, 12, 12)))

    def spread(c):
        return np.exp(rng.uniform(np.log(1e-2), np.log(1e2), c)) if unbalanced else None

    def conv_bn(x, out, k, name, **kw):
        if with_bn:
            y = b.conv(x, out, k, name, bias=False, **kw)
            return b.bn(y, f"{name}.bn", scale_range=(1e-2, 1e2) if unbalanced else (0.5, 2))
        return b.conv(x, out, k, name, channel_scale=spread(out), **kw)

    def relu6(x, name):
        return b.unary(O.Clip(min=0.0, max=6.0), x, name)

    y = relu6(conv_bn(x, 8, 3, "stem", pad=1), "stem.relu6")
    for i, (out, expand, stride) in enumerate([(8, 3, 1), (12, 4, 2), (12, 4, 1)]):
        cin = y.shape[1]
        h = relu6(conv_bn(y, cin * expand, 1, f"b{i}.expand"), f"b{i}.expand.relu6")
        h = relu6(conv_bn(h, cin * expand, 3, f"b{i}.dw", pad=1, stride=stride,
                          group=cin * expand), f"b{i}.dw.relu6")
        h = conv_bn(h, out, 1, f"b{i}.project")
        y = g.add(O.Add(), [h, y], [f"b{i}.add"]).output if stride == 1 and cin == out else h
    y = relu6(conv_bn(y, 16, 1, "head"), "head.relu6")
    y = g.add(O.GlobalAvgPool(), [y], ["pool"]).output
    y = g.add(O.Reshape(shape=(1, 16)), [y], ["flatten"]).output
    w = rng.standard_normal((10, 16)) / 4
    y = g.add(O.Gemm(trans_b=True), [y, b.const(w, "fc.w"), b.const(np.zeros(10), "fc.b")],
              ["fc"]).output
    g.outputs = [y]
    return g


# -- random layer chains for hypothesis -------------------------------------------------
# Blocks are short layer sequences that the passes look for (conv→bn, pad→pool,
# conv→relu6→conv, ...), so that random chains exercise every rewrite often.
BLOCKS = {
    "conv": ["conv"], "dwconv": ["dwconv"], "deconv": ["deconv"], "bn": ["bn"],
    "relu": ["relu"], "relu6": ["relu6"], "leaky": ["leaky"], "sigmoid": ["sigmoid"],
    "pad": ["pad"], "maxpool": ["maxpool"], "avgpool": ["avgpool"], "add": ["add"],
    "dropout": ["dropout"], "identity": ["identity"], "reshape": ["reshape"],
    "transpose": ["transpose"], "output": ["output"], "dead": ["dead"], "const": ["const"],
    "conv-bn-relu": ["conv", "bn", "relu"], "deconv-bn": ["deconv", "bn"],
    "conv-relu6-conv": ["conv", "relu6", "conv1x1"], "dw-relu6-pw": ["dwconv", "relu6", "conv1x1"],
    "conv-relu-conv": ["conv", "relu", "conv1x1"], "conv-conv": ["conv", "conv1x1"],
    "pad-conv": ["zeropad", "conv"], "pad-avgpool": ["zeropad", "avgpool"],
    "relu-pad-maxpool": ["relu", "zeropad", "maxpool"], "pad-maxpool": ["pad", "maxpool"],
}


@st.composite
def layer_chains(draw) -> Graph:
    """A chain of conv/bn/activation/pad/pool/add/... layers built with the Graph API.

    Layers whose shapes do not fit are skipped.  ``output`` makes the current
    value an extra graph output (the passes must keep those intact).
    """
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    g = Graph("random")
    b = Builder(g, rng)
    c = draw(st.integers(1, 4))
    size = draw(st.integers(3, 7))
    x = g.add_input("x", TensorType((1, c, size, size)))
    y, seen, outputs = x, [x], []
    blocks = draw(st.lists(st.sampled_from(sorted(BLOCKS)), min_size=1, max_size=5))
    kinds = [kind for block in blocks for kind in BLOCKS[block]]
    for i, kind in enumerate(kinds):
        try:
            y = _layer(draw, b, kind, y, f"l{i}", seen, outputs)
        except ShapeError:
            continue
        seen.append(y)
    g.outputs = [v for i, v in enumerate(outputs)
                 if v is not y and all(v is not u for u in outputs[:i])] + [y]
    if g.outputs[-1] is x:  # an empty chain; make it do something
        g.outputs = [b.unary(O.Relu(), x, "relu")]
    return g


def _layer(draw, b: Builder, kind: str, y: Value, name: str, seen: list, outputs: list) -> Value:
    g = b.g
    c = y.shape[1]
    if kind == "conv":
        out = draw(st.integers(1, 4))
        spread = np.exp(b.rng.uniform(-3, 3, out)) if draw(st.booleans()) else None
        return b.conv(y, out, draw(st.integers(1, 3)), name, stride=draw(st.integers(1, 2)),
                      pad=draw(st.integers(0, 1)), bias=draw(st.booleans()),
                      channel_scale=spread)
    if kind == "conv1x1":
        return b.conv(y, draw(st.integers(1, 4)), 1, name, bias=draw(st.booleans()))
    if kind == "dwconv":
        return b.conv(y, c, 3, name, pad=1, group=c)
    if kind == "deconv":
        w = b.rng.standard_normal((c, 2, 2, 2)) / 2
        return g.add(O.ConvTranspose2d(strides=(2, 2), pads=(0, 0, 1, 1)),
                     [y, b.const(w, f"{name}.w")], [name]).output
    if kind == "bn":
        return b.bn(y, name)
    if kind in ("relu", "relu6", "leaky", "sigmoid", "dropout", "identity"):
        op = {"relu": O.Relu(), "relu6": O.Clip(min=0.0, max=6.0),
              "leaky": O.LeakyRelu(alpha=0.1), "sigmoid": O.Sigmoid(), "dropout": O.Dropout(),
              "identity": O.Identity()}[kind]
        return b.unary(op, y, name)
    if kind in ("pad", "zeropad"):
        value = 0.0 if kind == "zeropad" else draw(st.sampled_from([0.0, -np.inf, 1.0]))
        channel = draw(st.integers(0, 1)) if kind == "pad" and draw(st.booleans()) else 0
        p = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
        pads = (0, channel, p[0], p[1], 0, 0, p[2], p[3])
        return g.add(O.Pad(pads=pads, value=value), [y], [name]).output
    if kind in ("maxpool", "avgpool"):
        k = draw(st.integers(1, 3))
        pad = draw(st.integers(0, k - 1))
        if kind == "maxpool":
            op = O.MaxPool2d(kernel=(k, k), pads=(pad,) * 4)
        else:
            op = O.AvgPool2d(kernel=(k, k), pads=(pad,) * 4,
                             count_include_pad=draw(st.booleans()))
        return b.unary(op, y, name)
    if kind == "add":
        same = [v for v in seen if v.type == y.type and v is not y]
        other = draw(st.sampled_from(same)) if same else y
        return g.add(O.Add(), [y, other], [name]).output
    if kind == "reshape":
        n, c, h, w = y.shape
        flat = g.add(O.Reshape(shape=(n, c, h * w)), [y], [f"{name}.flat"]).output
        return g.add(O.Reshape(shape=(n, c, h, w)), [flat], [name]).output
    if kind == "transpose":
        t = g.add(O.Transpose(perm=(0, 2, 3, 1)), [y], [f"{name}.nhwc"]).output
        return g.add(O.Transpose(perm=(0, 3, 1, 2)), [t], [name]).output
    if kind == "dead":  # a branch nobody reads
        b.unary(O.Sigmoid(), b.unary(O.Relu(), y, f"{name}.dead"), f"{name}.dead2")
        return y
    if kind == "const":  # a per-channel offset computed from constants
        base = b.const(b.rng.standard_normal((c, 1, 1)), f"{name}.base")
        two = b.const([2.0], f"{name}.two")
        offset = g.add(O.Mul(), [base, two], [f"{name}.offset"]).output
        return g.add(O.Add(), [y, offset], [name]).output
    outputs.append(y)  # "output"
    return y
