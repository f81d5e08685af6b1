"""N2D2 ``Unpool`` layers (``ArgMax=<pool>``): lowering, simulation against an
equivalent ONNX model run by onnxruntime, N2D2's summing of shared switches, and
the located errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.errors import InputError, UnsupportedError
from n2d2c.ir import ops as O
from n2d2c.ir import parse_graph, print_graph, verify
from n2d2c.runtime import simulate

from .helpers import assert_at, error_of

NET = """\
[sp]
SizeX={width}
SizeY={height}
NbChannels=2

[conv1]
Input=sp
Type=Conv
KernelDims=3 3
Padding=1
NbOutputs=4
ActivationFunction=Rectifier

[pool1]
Input=conv1
Type=Pool
PoolDims=2 2
Stride=2
Pooling=Max
NbOutputs=4

[unpool1]
Input=pool1
Type=Unpool
ArgMax=pool1
PoolDims=2 2
Stride=2
Pooling=Max
NbOutputs=4

[conv2]
Input=unpool1
Type=Conv
KernelDims=3 3
Padding=1
NbOutputs=3
ActivationFunction=Linear
"""


def weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s) * 0.4).astype(np.float32)  # noqa: E731
    return {"conv1.weights": r(4, 2, 3, 3), "conv1.biases": r(4),
            "conv2.weights": r(3, 4, 3, 3), "conv2.biases": r(3)}


def onnx_equivalent(w, height: int, width: int) -> onnx.ModelProto:
    """conv -> relu -> MaxPool (values, indices) -> MaxUnpool -> conv, with N2D2's
    output size: a pool that floored unpools onto its whole input, then is cropped."""
    n = helper.make_node
    window = dict(kernel_shape=[2, 2], strides=[2, 2])
    out_h, out_w = (height // 2) * 2, (width // 2) * 2
    inits = {**w, "shape": np.array([1, 4, height, width], np.int64),
             "starts": np.array([0, 0], np.int64), "ends": np.array([out_h, out_w], np.int64),
             "axes": np.array([2, 3], np.int64)}
    nodes = [n("Conv", ["input", "conv1.weights", "conv1.biases"], ["c1"], pads=[1, 1, 1, 1]),
             n("Relu", ["c1"], ["r1"]),
             n("MaxPool", ["r1"], ["p", "i"], **window),
             n("MaxUnpool", ["p", "i", "shape"], ["u"], **window),
             n("Slice", ["u", "starts", "ends", "axes"], ["uc"]),
             n("Conv", ["uc", "conv2.weights", "conv2.biases"], ["conv2"], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(
        nodes, "unpool",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 2, height, width])],
        [helper.make_tensor_value_info("conv2", TensorProto.FLOAT, [1, 3, out_h, out_w])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])


def ort_run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("height,width", [(6, 8), (7, 9)], ids=["exact", "pool_floors"])
def test_unpool_network_matches_onnxruntime(tmp_path: Path, lower, height, width):
    w = weights()
    np.savez(tmp_path / "params.npz", **w)
    graph = lower(NET.format(width=width, height=height), params=tmp_path / "params.npz")
    verify(graph)
    kinds = [type(op) for op in graph.ops if not isinstance(op, O.Constant)]
    assert O.MaxPool2dWithIndices in kinds and O.MaxUnpool2d in kinds
    assert O.MaxPool2d not in kinds
    assert (O.Slice in kinds) == (height % 2 == 1)  # N2D2's unpooled size is even here
    assert graph.metadata["layers"]["unpool1"]["shape"] == [1, 4, height // 2 * 2,
                                                            width // 2 * 2]
    text = print_graph(graph, inline_limit=None)
    assert print_graph(parse_graph(text), inline_limit=None) == text
    # ReLU zeros give windows with tied maxima: the first one is the switch.
    x = np.random.default_rng(1).standard_normal((1, 2, height, width)).astype(np.float32)
    got = simulate(graph, {graph.inputs[0].name: x})["conv2"]
    want = ort_run(onnx_equivalent(w, height, width), x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


SUMMING = """\
[sp]
SizeX=7
SizeY=7
NbChannels=2

[pool1]
Input=sp
Type=Pool
PoolSize=3
Stride=2
Padding=1
Pooling=Max
NbOutputs=2

[unpool1]
Input=pool1
Type=Unpool
ArgMax=pool1
PoolWidth=3
PoolHeight=3
StrideX=2
StrideY=2
Padding=1
Pooling=Max
NbOutputs=2
Mapping(pool1)=1 1 1 1
"""


def n2d2_unpool(x: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """N2D2's Max UnpoolCell on the switches of its PoolCell: each output cell sums the
    pooled values of every window whose (first) maximum it holds."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
    out = np.zeros((n, c, (oh - 1) * stride + kernel - 2 * pad,
                    (ow - 1) * stride + kernel - 2 * pad), np.float32)
    for b, ch, i, j in np.ndindex(n, c, oh, ow):
        rows = range(max(i * stride - pad, 0), min(i * stride - pad + kernel, h))
        cols = range(max(j * stride - pad, 0), min(j * stride - pad + kernel, w))
        cells = [(r, q) for r in rows for q in cols]
        r, q = cells[int(np.argmax([x[b, ch, r, q] for r, q in cells]))]
        out[b, ch, r, q] += x[b, ch, r, q]
    return out


def test_overlapping_windows_add_up_like_n2d2(lower):
    graph = lower(SUMMING)
    unpool = graph.ops_of(O.MaxUnpool2d)[0]
    assert unpool.accumulate and unpool.output.shape == (1, 2, 7, 7)
    rng = np.random.default_rng(4)
    x = rng.integers(-2, 3, (1, 2, 7, 7)).astype(np.float32)
    x[0, 0, 3, 3] = x[0, 1, 4, 3] = 9  # the maximum of four or two windows
    got = simulate(graph, {graph.inputs[0].name: x})["unpool1"]
    want = n2d2_unpool(x, 3, 2, 1)
    np.testing.assert_array_equal(got, want)
    assert got[0, 0, 3, 3] == 4 * 9 and got[0, 1, 4, 3] == 2 * 9


def test_global_pool_keeps_its_switches(lower):
    text = SUMMING.replace("PoolSize=3\nStride=2\nPadding=1", "PoolDims=7 7") \
        .replace("PoolWidth=3\nPoolHeight=3\nStrideX=2\nStrideY=2\nPadding=1", "PoolDims=7 7")
    graph = lower(text)
    assert not graph.ops_of(O.GlobalMaxPool)
    x = np.random.default_rng(5).standard_normal((1, 2, 7, 7)).astype(np.float32)
    got = simulate(graph, {graph.inputs[0].name: x})["unpool1"]
    want = np.where(x == x.max(axis=(2, 3), keepdims=True), x, 0)
    np.testing.assert_array_equal(got, want)


# -- errors ----------------------------------------------------------------------------------
BASE = NET.format(width=8, height=6)


def located(text: str, section: str, key: str | None) -> tuple[int, int]:
    """(line, column) of ``key``'s value in ``section`` (of the header when key is None)."""
    lines = text.splitlines()
    start = lines.index(f"[{section}]")
    if key is None:
        return start + 1, 1
    row = next(i for i in range(start, len(lines)) if lines[i].startswith(f"{key}="))
    return row + 1, len(key) + 2


def edit(section: str, old: str, new: str, text: str = BASE) -> str:
    head, _, tail = text.partition(f"[{section}]\n")
    body, sep, rest = tail.partition("\n\n")
    assert old in body, (section, old)
    return f"{head}[{section}]\n{body.replace(old, new)}{sep}{rest}"


ERRORS = [
    # (edited section, old, new, error class, located key, message)
    ("unpool1", "ArgMax=pool1\n", "", InputError, None,
     "section [unpool1] needs the property ArgMax"),
    ("unpool1", "ArgMax=pool1", "ArgMax=pool9", InputError, "ArgMax",
     "[unpool1]ArgMax: names 'pool9', which is not a layer of the network"),
    ("unpool1", "ArgMax=pool1", "ArgMax=conv1", InputError, "ArgMax",
     "[unpool1]ArgMax: [conv1] is a Conv layer; ArgMax must name a Pool layer with "
     "Pooling=Max"),
    ("pool1", "Pooling=Max", "Pooling=Average", InputError, "ArgMax",
     "[unpool1]ArgMax: [pool1] is an Average pool; ArgMax must name a Pool layer with "
     "Pooling=Max"),
    ("unpool1", "Stride=2", "Stride=1", InputError, "Stride",
     "[unpool1]Stride: stride 1x1 differs from the 2x2 of [pool1], whose switches (ArgMax) "
     "it reads"),
    ("unpool1", "PoolDims=2 2", "PoolDims=3 2", InputError, "PoolDims",
     "[unpool1]PoolDims: pool 3x2 differs from the 2x2 of [pool1]"),
    ("unpool1", "NbOutputs=4", "NbOutputs=3", InputError, "NbOutputs",
     "[unpool1]NbOutputs: is 3, but [pool1] pools 4 channels, which its switches (ArgMax) "
     "point into"),
    ("unpool1", "Input=pool1", "Input=conv1", InputError, "Input",
     "[unpool1]Input: the input is 1x4x6x8 but [pool1]'s switches (ArgMax) are 1x4x3x4"),
    ("unpool1", "Pooling=Max\n", "", InputError, None,
     "section [unpool1] needs the property Pooling"),
    ("unpool1", "Pooling=Max", "Pooling=Average", UnsupportedError, "Pooling",
     "[unpool1]Pooling: average unpooling (spreading each value over its window) is not "
     "supported"),
    ("unpool1", "NbOutputs=4", "NbOutputs=4\nMapping(pool1)=" + " ".join(
        "1" if (r, c) != (2, 2) else "0" for r in range(4) for c in range(4)),
     UnsupportedError, None,
     "section [unpool1]: the mapping does not connect input channel 2 to output 2"),
]


@pytest.mark.parametrize("section,old,new,cls,key,message", ERRORS,
                         ids=[f"{i}-{m[4] or 'header'}" for i, m in enumerate(ERRORS)])
def test_unpool_errors_are_located(tmp_path: Path, lower, section, old, new, cls, key,
                                   message):
    text = edit(section, old, new)
    err = error_of(lower, text)
    assert isinstance(err, cls), (type(err), str(err))
    assert message in str(err)
    assert_at(err, tmp_path / "net.ini", *located(text, "unpool1", key))


def test_pool_with_several_inputs_cannot_be_unpooled(tmp_path: Path, lower):
    text = edit("pool1", "Input=conv1", "Input=conv1,sp")
    text = edit("pool1", "NbOutputs=4", "NbOutputs=6", text)
    err = error_of(lower, edit("unpool1", "NbOutputs=4", "NbOutputs=6", text))
    assert isinstance(err, UnsupportedError)
    assert "[unpool1]ArgMax: [pool1] reads several inputs or maps its channels" in str(err)
    assert_at(err, tmp_path / "net.ini", *located(text, "unpool1", "ArgMax"))


def test_unpool_before_its_pool(tmp_path: Path, lower):
    """An Unpool whose inputs do not depend on its pool may be built first."""
    unpool = BASE[BASE.index("[unpool1]"):BASE.index("[conv2]")]
    text = BASE.replace(unpool, "").replace("[pool1]", unpool.replace(
        "Input=pool1", "Input=conv1") + "[pool1]")
    err = error_of(lower, text)
    assert "[unpool1]ArgMax: layer [pool1] is built after [unpool1]; an Unpool must come " \
           "after the pool it reads" in str(err)
    assert_at(err, tmp_path / "net.ini", *located(text, "unpool1", "ArgMax"))
