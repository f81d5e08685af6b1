"""Layer semantics, checked against numpy formulas through the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from .network_helpers import simulate_or_none

LAYERS = """
[sp]
SizeX=6
SizeY=5
NbChannels=4

[thr_tozero]
Input=sp
Type=Threshold
NbOutputs=4
Operation=ToZero
Threshold=0.25

[thr_binary]
Input=sp
Type=Threshold
Threshold=-0.5
MaxValue=3.0

[thr_trunc]
Input=sp
Type=Threshold
Operation=Truncate
Threshold=0.1

; read by other layers: the target makes it a graph output too
[thr_trunc.Target]

[l2]
Input=sp
Type=Normalize
NbOutputs=4
Norm=L2

[l1]
Input=sp
Type=Normalize
Norm=L1

[emax]
Input=sp,thr_trunc
Type=ElemWise
Operation=Max

[eprod]
Input=sp,thr_trunc
Type=ElemWise
Operation=Prod

[eabs]
Input=sp,thr_trunc
Type=ElemWise
Operation=AbsSum
Weights=0.5 2.0

[eeucl]
Input=sp,thr_trunc
Type=ElemWise
Operation=EuclideanSum
Shifts=1.0 -1.0

[escale]
Input=sp
Type=ElemWise
NbOutputs=[sp]NbChannels
Operation=Sum
Weights=30.0
Shifts=0.5
ActivationFunction=Saturation
ActivationFunction.Threshold=20

[pad]
Input=sp
Type=Padding
NbOutputs=4
TopPadding=1
BottomPadding=-1
LeftPadding=2
RightPadding=0

[reshape]
Input=sp
Type=Reshape
NbOutputs=4
Dims=3 -1 0

[transpose]
Input=sp
Type=Transpose
NbOutputs=4
Perm=1 0 2 3

[resize]
Input=sp
Type=Resize
NbOutputs=4
OutputWidth=12
OutputHeight=10
Mode=NearestNeighbor

[lrn]
Input=sp
Type=LRN
NbOutputs=4
N=3
Alpha=0.5
Beta=0.75
K=1.5

[gsoftmax]
Input=sp
Type=Softmax
GroupSize=2

[scaling]
Input=sp
Type=Scaling
Factor=0.125

[targetbias]
Input=sp
Type=TargetBias
Bias=-0.35

[act_swish]
Input=sp
Type=Activation
ActivationFunction=Swish

[act_softplus]
Input=sp
Type=Activation
ActivationFunction=Softplus

[act_tanh]
Input=sp
Type=Activation
ActivationFunction=Tanh
ActivationFunction.Alpha=0.5

[act_relu]
Input=sp
Type=Activation
ActivationFunction=Rectifier
ActivationFunction.LeakSlope=0.2
ActivationFunction.Clipping=0.5

[act_logistic]
Input=sp
Type=Activation
ActivationFunction=LogisticWithLoss

[maxout]
Input=sp
Type=Pool
PoolWidth=1
PoolHeight=1
NbOutputs=2
Pooling=Max
Mapping.SizeY=2
Mapping.StrideY=2

[gather]
Input=sp,thr_trunc
Type=Pool
PoolDims=2 2
Stride=1
Padding=1
NbOutputs=5
Pooling=Average
Mapping.Size=1
Mapping.NbIterations=2
Mapping(thr_trunc).OffsetX=2
Mapping(thr_trunc).OffsetY=1
Mapping(thr_trunc).NbIterations=3
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from n2d2c.frontend.ini import load_ini_network

    path = tmp_path_factory.mktemp("layers") / "layers.ini"
    path.write_text(LAYERS)
    graph = load_ini_network(path, env={})
    x = np.random.default_rng(3).standard_normal((1, 4, 5, 6)).astype(np.float32)
    x[0, 0, 0, :3] = [0.25, -0.5, 0.1]  # values equal to the thresholds
    out = simulate_or_none(graph, {"sp": x})
    if out is None:
        pytest.skip("n2d2c.runtime.simulate is not importable yet")
    return graph, x, out


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_threshold(results) -> None:
    _, x, out = results
    close(out["thr_tozero"], np.where(x > 0.25, x, 0))
    close(out["thr_binary"], np.where(x > -0.5, 3.0, 0.0))
    close(out["thr_trunc"], np.minimum(x, 0.1))


def test_normalize(results) -> None:
    _, x, out = results
    close(out["l2"], x / np.sqrt((x ** 2).sum(axis=1, keepdims=True)))
    close(out["l1"], x / np.abs(x).sum(axis=1, keepdims=True))


def test_elemwise(results) -> None:
    _, x, out = results
    t = np.minimum(x, 0.1)
    close(out["emax"], np.maximum(x, t))
    close(out["eprod"], x * t)
    close(out["eabs"], 0.5 * np.abs(x) + 2.0 * np.abs(t))
    close(out["eeucl"], np.sqrt((x + 1.0) ** 2 + (t - 1.0) ** 2))
    close(out["escale"], np.clip(30.0 * x + 0.5, -20, 20))


def test_data_movement(results) -> None:
    graph, x, out = results
    padded = np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 0)))[:, :, :-1]
    close(out["pad"], padded)
    assert graph.metadata["layers"]["pad"]["shape"] == [1, 4, 5, 8]
    # Dims=3 -1 0: width 3, height inferred (120 / (3 * 4) = 10), channels kept (4)
    close(out["reshape"], x.reshape(1, 4, 10, 3))
    close(out["transpose"], x.transpose(0, 1, 3, 2))  # swaps width and height
    close(out["resize"], x.repeat(2, axis=2).repeat(2, axis=3))


def test_lrn_follows_n2d2(results) -> None:
    _, x, out = results
    sq = x ** 2
    padded = np.pad(sq, ((0, 0), (1, 1), (0, 0), (0, 0)))
    window = padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]
    close(out["lrn"], x / (1.5 + 0.5 * window) ** 0.75)


def test_softmax_scaling_identity(results) -> None:
    _, x, out = results
    g = x.reshape(1, 2, 2, 30)
    e = np.exp(g - g.max(axis=2, keepdims=True))
    close(out["gsoftmax"], (e / e.sum(axis=2, keepdims=True)).reshape(x.shape))
    close(out["scaling"], x * 0.125)
    close(out["targetbias"], x)


def test_activations(results) -> None:
    _, x, out = results
    sig = 1 / (1 + np.exp(-x))
    close(out["act_swish"], x * sig)
    close(out["act_softplus"], np.log1p(np.exp(x)))
    close(out["act_tanh"], np.tanh(0.5 * x))
    close(out["act_relu"], np.where(x > 0, np.minimum(x, 0.5), 0.2 * x))
    close(out["act_logistic"], sig)


def test_pool_mappings(results) -> None:
    graph, x, out = results
    close(out["maxout"], np.stack([x[:, :2].max(1), x[:, 2:].max(1)], axis=1))
    t = np.minimum(x, 0.1)
    # outputs 0, 1 <- sp channels 0, 1; outputs 2, 3, 4 <- thr_trunc channels 1, 2, 3
    chosen = np.concatenate([x[:, :2], t[:, 1:4]], axis=1)
    padded = np.pad(chosen, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ones = np.pad(np.ones_like(chosen), ((0, 0), (0, 0), (1, 1), (1, 1)))

    def windows(a):
        return a[:, :, :-1, :-1] + a[:, :, 1:, :-1] + a[:, :, :-1, 1:] + a[:, :, 1:, 1:]

    close(out["gather"], windows(padded) / windows(ones))
    assert graph.metadata["layers"]["gather"]["shape"] == [1, 5, 6, 7]


PREPROCESSING = """
[sp]
SizeX=4
SizeY=4
NbChannels=3
BatchSize=64

[sp.Transformation-1]
Type=RescaleTransformation
Width=8
Height=8

[sp.Transformation-2]
Type=RangeAffineTransformation
FirstOperator=Minus
FirstValue=10 20 30
SecondOperator=Divides
SecondValue=2

[sp.Transformation-3]
Type=PadCropTransformation
Width=4
Height=4

[sp.OnTheFlyTransformation-4]
Type=FlipTransformation
ApplyTo=LearnOnly
RandomHorizontalFlip=1

[sp.ChannelsTransformation-5]
Type=RangeAffineTransformation
FirstOperator=Multiplies
FirstValue=3

[c]
Input=sp
Type=Conv
KernelDims=1 1
NbOutputs=$([sp]NbChannels * 2)
ActivationFunction=Linear
"""


def test_preprocessing_in_graph(lower) -> None:
    graph = lower(PREPROCESSING, batch_size=2, init="zeros")
    assert graph.inputs[0].name == "sp" and graph.inputs[0].shape == (2, 3, 4, 4)
    pre = graph.metadata["preprocessing"]
    assert [s["section"] for s in pre["in_graph"]] == ["sp.Transformation-2",
                                                       "sp.ChannelsTransformation-5"]
    assert [s["type"] for s in pre["external"]] == ["RescaleTransformation",
                                                    "PadCropTransformation"]
    assert pre["ignored"][0]["reason"] == "training only (ApplyTo=LearnOnly)"
    assert pre["input_range"] == "raw"
    assert graph.metadata["input"]["batch_size_in_file"] == "64"
    assert graph.find_op("c/conv").inputs[1].shape == (6, 3, 1, 1)
    first = graph.ops[:2]
    assert first[0].OP_NAME == "constant" and first[0].value.shape == (1, 3, 1, 1)
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 4, 4)).astype(np.float32)
    graph.outputs = [graph.find_op("sp/ChannelsTransformation-5/multiplies").output]
    out = simulate_or_none(graph, {"sp": x})
    if out is not None:
        expected = (x - np.array([10, 20, 30], np.float32).reshape(1, 3, 1, 1)) / 2 * 3
        close(next(iter(out.values())), expected)


def test_preprocessing_that_stays_outside(lower) -> None:
    # values computed from the dataset cannot be compiled in
    text = PREPROCESSING.replace("FirstValue=10 20 30", "FirstValue=[sp.StimuliData-x]_Mean")
    pre = lower(text, init="zeros").metadata["preprocessing"]
    assert [s["section"] for s in pre["in_graph"]] == ["sp.ChannelsTransformation-5"]
    reasons = {s["section"]: s.get("reason", "") for s in pre["external"]}
    assert "depend on the dataset" in reasons["sp.Transformation-2"]
    # a constant affine step followed by a colour-space change must run before it
    text = PREPROCESSING.replace("Type=PadCropTransformation",
                                 "Type=ColorSpaceTransformation\nColorSpace=RGB")
    pre = lower(text, init="zeros").metadata["preprocessing"]
    assert [s["section"] for s in pre["in_graph"]] == ["sp.ChannelsTransformation-5"]
    reasons = {s["section"]: s.get("reason", "") for s in pre["external"]}
    assert "applied before [sp.Transformation-3] (ColorSpaceTransformation)" \
        in reasons["sp.Transformation-2"]
    assert [s["section"] for s in pre["external"]] == [
        "sp.Transformation-1", "sp.Transformation-2", "sp.Transformation-3"]


def test_channel_transformations_make_the_channels(lower) -> None:
    text = """
    [sp]
    SizeX=4
    SizeY=4
    [sp.ChannelTransformation-1]
    Type=ChannelExtractionTransformation
    CSChannel=Red
    [sp.ChannelTransformation-2]
    Type=ChannelExtractionTransformation
    CSChannel=Green
    [sp.ChannelTransformation-3]
    Type=RangeAffineTransformation
    Channel=1
    FirstOperator=Minus
    FirstValue=5
    [c]
    Input=sp
    Type=Pool
    PoolSize=2
    Pooling=Average
    """
    graph = lower(text)
    assert graph.inputs[0].shape == (1, 2, 4, 4)
    value = graph.ops[0].value
    np.testing.assert_array_equal(value.reshape(-1), [0, 5])
    assert graph.outputs[0].shape == (1, 2, 3, 3)
