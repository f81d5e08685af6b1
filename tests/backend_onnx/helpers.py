"""Models, data and comparisons shared by the onnx backend tests."""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from n2d2c.backends.onnx import export_model
from n2d2c.ir import Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.runtime import Simulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RESCALING = ["Floating-point", "Fixed-point16", "Fixed-point32", "Single-shift", "Double-shift"]
#: (onnx_format, qop_requant) of every quantized form
FORMS = [("qdq", "exact"), ("qop", "exact"), ("qop", "qlinear")]
ACCUMULATORS = (O.Conv2d, O.Gemm, O.MatMul, O.Add)


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def run_onnx(model: onnx.ModelProto, feeds: dict) -> dict[str, np.ndarray]:
    sess = session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def observe_integers(graph: Graph) -> list:
    """Make every 8/16-bit integer activation a graph output too (accumulators stay
    internal, so the exporter may fold the requantization into the layer).
    Returns the observed values."""
    seen = {id(v) for v in graph.outputs}
    observed = []
    for op in graph.ops:
        if isinstance(op, O.Constant) or isinstance(op, ACCUMULATORS):
            continue
        for v in op.outputs:
            if v.type.dtype.is_integer and v.type.dtype.itemsize <= 2 and id(v) not in seen:
                observed.append(v)
                seen.add(id(v))
    graph.outputs = list(graph.outputs) + observed
    return observed


def final_integers(graph: Graph) -> list:
    """The integer values read by the dequantize ops (or integer softmaxes with a float
    result) whose results reach a graph output through float ops only (the network's
    last integer results)."""
    return [op.inputs[0] for op in graph.ops
            if (isinstance(op, O.Dequantize) or (isinstance(op, O.IntSoftmax) and
                                                 op.output.type.dtype.is_float))
            and _reaches_output(graph, op.output)]


def _reaches_output(graph: Graph, value) -> bool:
    frontier = [value]
    seen = set()
    while frontier:
        v = frontier.pop()
        if graph.is_output(v):
            return True
        for op, _ in graph.users(v):
            for out in op.outputs:
                if id(out) not in seen and not out.type.dtype.is_integer:
                    seen.add(id(out))
                    frontier.append(out)
    return False


def lsb_differences(graph: Graph, values, feeds_list, **export_options) -> dict[str, int]:
    """Largest |onnxruntime - simulator| of each integer value over the feeds (the
    values become graph outputs if they are not yet)."""
    missing = [v for v in values if not graph.is_output(v)]
    graph.outputs = list(graph.outputs) + missing
    model = export_model(graph, **export_options)
    onnx.checker.check_model(model)
    sess = session(model)
    names = [o.name for o in sess.get_outputs()]
    sim = Simulator(graph)
    worst = {v.name: 0 for v in values}
    for feeds in feeds_list:
        got = dict(zip(names, sess.run(None, feeds)))
        want = sim.run(feeds)
        for v in values:
            diff = np.abs(got[v.name].astype(np.int64) - want[v.name].astype(np.int64))
            worst[v.name] = max(worst[v.name], int(diff.max()) if diff.size else 0)
    return worst


def quantize(graph: Graph, calibration, **options) -> Graph:
    from n2d2c.quantization import QuantizationWarning, quantize_graph
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        qgraph, _ = quantize_graph(graph, calibration, options)
    return qgraph


# -- models ---------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def digits_data():
    test = np.load(FIXTURES / "digits_test.npz", allow_pickle=False)
    calib = np.load(FIXTURES / "digits_calib.npz", allow_pickle=False)
    return test["x"], test["y"], calib["x"]


def digits_graph(batch: int = 1) -> Graph:
    """The trained digits CNN, with the whole test set as one batch when asked."""
    from n2d2c.frontend.onnx import load_onnx
    model = onnx.load(FIXTURES / "digits_cnn.onnx")
    if batch != 1:
        for vi in list(model.graph.input) + list(model.graph.output):
            vi.type.tensor_type.shape.dim[0].dim_param = "N"
        del model.graph.value_info[:]
    return load_onnx(model, input_shapes={"input": (batch, 1, 8, 8)})


class Builder:
    """A few helpers to write float IR graphs with seeded random weights."""

    def __init__(self, name: str, seed: int = 0):
        self.g = Graph(name)
        self.rng = np.random.default_rng(seed)

    def input(self, name: str, shape) -> object:
        return self.g.add_input(name, TensorType(tuple(shape)))

    def const(self, array, name: str):
        return self.g.constant(np.asarray(array, np.float32), name)

    def op(self, op, inputs, name: str | None = None):
        op.name = name or op.name or op.OP_NAME
        return self.g.add(op, inputs, [op.name]).output

    def conv(self, x, cout: int, k: int = 3, stride: int = 1, group: int = 1, name: str = "conv",
             pad: int | None = None, bias: bool = True, **attrs):
        cin = x.type.shape[1]
        pad = k // 2 if pad is None else pad
        fan_in = cin // group * k * k
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in)
        inputs = [x, self.const(w, f"{name}.w")]
        if bias:
            inputs.append(self.const(self.rng.standard_normal(cout) * 0.1, f"{name}.b"))
        return self.op(O.Conv2d(strides=(stride, stride), pads=(pad,) * 4, group=group, **attrs),
                       inputs, name)

    def relu(self, x, name: str):
        return self.op(O.Relu(), [x], name)

    def relu6(self, x, name: str):
        return self.op(O.Clip(min=0.0, max=6.0), [x], name)

    def gemm(self, x, n: int, name: str = "fc", bias: bool = True):
        k = x.type.shape[1]
        w = self.rng.standard_normal((n, k)) * np.sqrt(1.0 / k)
        inputs = [x, self.const(w, f"{name}.w")]
        if bias:
            inputs.append(self.const(self.rng.standard_normal(n) * 0.1, f"{name}.b"))
        return self.op(O.Gemm(trans_b=True), inputs, name)

    def output(self, *values) -> Graph:
        self.g.outputs = list(values)
        return self.g


def mobilenet_like(size: int = 16, seed: int = 0) -> Graph:
    """Stem, three inverted residual blocks (expand 1x1 + ReLU6, depthwise 3x3 +
    ReLU6, project 1x1, residual add when shapes allow), global average pooling,
    flatten and a classifier."""
    b = Builder("mobilenet_like", seed)
    x = b.input("input", (1, 3, size, size))
    y = b.relu6(b.conv(x, 16, 3, 2, name="stem"), "stem.relu6")
    cin = 16
    for i, (cout, stride) in enumerate([(16, 1), (24, 2), (24, 1)]):
        hidden = cin * 4
        h = b.relu6(b.conv(y, hidden, 1, name=f"b{i}.expand"), f"b{i}.expand.relu6")
        h = b.relu6(b.conv(h, hidden, 3, stride, group=hidden, name=f"b{i}.dw"), f"b{i}.dw.relu6")
        h = b.conv(h, cout, 1, name=f"b{i}.project")
        if stride == 1 and cin == cout:
            h = b.op(O.Add(), [h, y], f"b{i}.add")
        y, cin = h, cout
    y = b.op(O.GlobalAvgPool(), [y], "gap")
    y = b.op(O.Reshape(shape=(1, cin)), [y], "flatten")
    return b.output(b.gemm(y, 10, "fc"))


def random_images(n: int, shape, seed: int) -> np.ndarray:
    """Smooth random images in [0, 1] (neighbouring pixels correlate)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, *shape))
    x = (x + np.roll(x, 1, -1) + np.roll(x, 1, -2) + np.roll(x, (1, 1), (-1, -2))) / 4
    return x.astype(np.float32)
