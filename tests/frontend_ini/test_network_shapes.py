"""Per-layer output shapes of corpus networks, written by hand from N2D2's rules.

N2D2 (ConvCell / PoolCell): ``out = floor((in + 2 * Padding - Kernel) / Stride) + 1``;
Fc outputs ``NbOutputs`` values; a Pool whose window is the whole input gives 1x1.
Shapes are (C, H, W) per section; Fc/Softmax after Fc are (C,).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2d2c.frontend.ini import load_ini_network
from n2d2c.ir import verify

from .network_helpers import corpus_env, shapes_by_section, simulate_or_none


def conv_out(size: int, kernel: int, stride: int = 1, pad: int = 0) -> int:
    return (size + 2 * pad - kernel) // stride + 1


LENET = {
    "conv1": (6, 28, 28),            # 32 - 5 + 1
    "pool1": (6, 14, 14),            # (28 - 2) / 2 + 1
    "conv2": (16, 10, 10),
    "pool2": (16, 5, 5),
    "conv3": (120, 1, 1),
    "fc1": (84,), "fc1.drop": (84,), "fc2": (10,), "softmax": (10,),
}


def resnet18() -> dict[str, tuple[int, ...]]:
    s = conv_out(224, 7, 2, 3)              # 112
    shapes = {"conv1": (64, s, s)}
    s = conv_out(s, 3, 2, 0)                # 55: N2D2 floors (Caffe/PyTorch give 56 with pad 1)
    shapes["pool1"] = (64, s, s)
    channels = {2: 64, 3: 128, 4: 256, 5: 512}
    for stage in (2, 3, 4, 5):
        c = channels[stage]
        for block in (1, 2):
            name = f"conv{stage}.{block}"
            stride = 2 if stage > 2 and block == 1 else 1
            inner = conv_out(s, 3, stride, 1)
            shapes[f"{name}_3x3_1"] = (c, inner, inner)
            shapes[f"{name}_3x3_2"] = (c, inner, inner)
            if block == 1:
                proj = conv_out(s, 1, stride, 0)
                assert proj == inner
                shapes[f"{name}_1x1_proj"] = (c, proj, proj)
            shapes[f"{name}_sum"] = (c, inner, inner)
            s = inner
    assert s == 7
    shapes.update(pool=(512, 1, 1), fc=(1000,), softmax=(1000,))
    return shapes


def mobilenet_v1() -> dict[str, tuple[int, ...]]:
    # $SIZE=160, $ALPHA=0.5 in the file.
    s = conv_out(160, 3, 2, 1)              # 80
    shapes = {"conv1": (16, s, s)}
    plan = [("conv1", 16, 32, 1), ("conv2", 32, 64, 2), ("conv3", 64, 64, 1),
            ("conv4", 64, 128, 2), ("conv5", 128, 128, 1), ("conv6", 128, 256, 2),
            ("conv7_1", 256, 256, 1), ("conv7_2", 256, 256, 1), ("conv7_3", 256, 256, 1),
            ("conv7_4", 256, 256, 1), ("conv7_5", 256, 256, 1), ("conv8", 256, 512, 2),
            ("conv9", 512, 512, 1)]
    for name, c_in, c_out, stride in plan:
        s = conv_out(s, 3, stride, 1)
        shapes[f"{name}_3x3_dw"] = (c_in, s, s)
        shapes[f"{name}_1x1"] = (c_out, s, s)
    assert s == 5
    shapes.update(pool=(512, 1, 1), fc=(1000,), softmax=(1000,))
    return shapes


CASES = {
    "models/LeNet.ini": ((1, 32, 32), LENET),
    "models/ResNet-18.ini": ((3, 224, 224), resnet18()),
    "models/MobileNet_v1.ini": ((3, 160, 160), mobilenet_v1()),
}


@pytest.mark.parametrize("rel", sorted(CASES))
def test_layer_shapes_follow_n2d2(rel: str, corpus: Path) -> None:
    input_shape, expected = CASES[rel]
    graph = load_ini_network(corpus / rel, env=corpus_env(), allow_dirs=[corpus])
    verify(graph)
    assert graph.inputs[0].shape == (1, *input_shape)
    got = {name: shape[1:] for name, shape in shapes_by_section(graph).items()}
    assert got == expected
    # the derived sizes the file reads ([conv5.2_sum]_OutputsWidth ...) are these
    if rel.endswith("ResNet-18.ini"):
        assert graph.metadata["layers"]["pool"]["kernel"] == [7, 7]
        assert graph.metadata["layers"]["pool"]["global"]


def test_mobilenet_depthwise_convs_are_grouped(corpus: Path) -> None:
    graph = load_ini_network(corpus / "models/MobileNet_v1.ini", env=corpus_env(),
                             allow_dirs=[corpus], init="zeros")
    conv = graph.find_op("conv2_3x3_dw/conv")
    assert conv.group == 32 and conv.inputs[1].shape == (32, 1, 3, 3)
    assert conv.strides == (2, 2) and conv.pads == (1, 1, 1, 1)


@pytest.mark.parametrize("rel", sorted(CASES))
def test_corpus_network_simulates(rel: str, corpus: Path) -> None:
    graph = load_ini_network(corpus / rel, env=corpus_env(), allow_dirs=[corpus], seed=3)
    x = np.random.default_rng(0).random(graph.inputs[0].shape, dtype=np.float32)
    out = simulate_or_none(graph, {graph.inputs[0].name: x})
    if out is None:
        pytest.skip("n2d2c.runtime.simulate is not importable yet")
    (name, probs), = out.items()
    assert name == "softmax" and probs.shape == (1, 1000 if "LeNet" not in rel else 10)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
