"""int8 agreement with float on trained networks (scripts/train_int8_fixtures.py):
a MobileNetV3-style digits classifier and a DBNet-style text detector exported by
PyTorch with decomposed hard-swish/hard-sigmoid, squeeze-excite, Resize,
ConvTranspose and a Concat of four scales.

Measured with the default options (per-channel weights, Fixed-point16 rescaling,
MSE clipping): classifier top-1 agreement 0.997, output SQNR 27.1 dB (onnxruntime's
quantize_static, per-channel QDQ MinMax: 1.000, 31.5 dB), detector map IoU 0.992,
32.2 dB (onnxruntime: 0.993, 32.8 dB); per-layer weights with single shifts, the
defaults before, gave 0.994 / 24.5 dB and 0.988 / 27.5 dB.  The bounds leave room
for small numeric changes, not for a regression."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import n2d2c
from n2d2c.quantization import QuantizationOptions, QuantizationWarning, quantize_graph
from n2d2c.runtime import Simulator

from fixtures.text_pages import text_pages

FIXTURES = Path(__file__).parents[1] / "fixtures"

PER_CHANNEL = QuantizationOptions(nbbits=8, wt_per_channel=True, act_rescale_per_output=True,
                                  act_rescaling_mode="Floating-point")


def _outputs(graph, samples: np.ndarray) -> np.ndarray:
    sim = Simulator(graph)
    name = graph.inputs[0].name
    return np.concatenate([next(iter(sim.run({name: x[None]}).values())) for x in samples])


def _quantized(graph, calibration, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QuantizationWarning)
        qgraph, _ = quantize_graph(graph, {"x": calibration}, options)
    return qgraph


@pytest.fixture(scope="module")
def digits():
    graph = n2d2c.load(FIXTURES / "mnv3_digits.onnx")
    test = np.load(FIXTURES / "digits_test.npz")
    calib = np.load(FIXTURES / "digits_calib.npz")["x"]
    return graph, test["x"], test["y"], calib, _outputs(graph, test["x"]).argmax(axis=1)


@pytest.mark.parametrize("options, bound", [(QuantizationOptions(nbbits=8), 0.99),
                                            (PER_CHANNEL, 0.98)], ids=["default", "per-channel"])
def test_classifier_int8_agrees_with_float(digits, options, bound):
    graph, x, y, calib, float_class = digits
    assert (float_class == y).mean() > 0.95  # trained: the agreement means something
    int8_class = _outputs(_quantized(graph, calib, options), x).argmax(axis=1)
    agreement = (int8_class == float_class).mean()
    print(f"\nMobileNetV3-style digits, int8 top-1 agreement with float: {agreement:.4f}")
    assert agreement >= bound


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize("options, bound", [(QuantizationOptions(nbbits=8), 0.985),
                                            (PER_CHANNEL, 0.98)], ids=["default", "per-channel"])
def test_text_detector_int8_map_agrees_with_float(options, bound):
    graph = n2d2c.load(FIXTURES / "dbnet_text.onnx")
    calib, _ = text_pages(16, seed=3)
    pages, truth = text_pages(8, seed=2)
    float_map = _outputs(graph, pages) > 0.5
    assert _iou(float_map, truth > 0.5) > 0.85  # trained
    int8_map = _outputs(_quantized(graph, calib, options), pages) > 0.5
    iou = _iou(int8_map, float_map)
    print(f"\nDBNet-style text map, int8 IoU with float: {iou:.4f}")
    assert iou >= bound
