"""Parameters: N2D2's text export, .npz, mappings, and the fillers of untrained layers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from n2d2c.errors import InputError, ResourceLimitError

from .helpers import error_of

NET = """
[sp]
SizeX=6
SizeY=6
NbChannels=3

; channel 0 -> outputs 0, 1; channel 1 -> output 2; channel 2 -> outputs 1, 3
[conv]
Input=sp
Type=Conv
KernelWidth=3
KernelHeight=2
NbOutputs=4
Mapping(env)=1 1 0 0 \\
             0 0 1 0 \\
             0 1 0 1
ActivationFunction=Linear

[bn]
Input=conv
Type=BatchNorm
NbOutputs=4

[fc]
Input=bn
Type=Fc
NbOutputs=3
ActivationFunction=Linear
"""
MASK = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1]], bool)


def consts(graph) -> dict[str, np.ndarray]:
    return {op.name: op.value for op in graph.ops if op.OP_NAME == "constant"}


def write_rows(path: Path, rows) -> None:
    path.write_text("".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows))


@pytest.fixture
def kernels() -> np.ndarray:
    return np.arange(4 * 3 * 2 * 3, dtype=np.float32).reshape(4, 3, 2, 3) + 1


def write_text_params(folder: Path, kernels: np.ndarray, *, fc_single: bool = False) -> None:
    folder.mkdir(exist_ok=True)
    # OCHW: for each output, the kernels of its connected channels only
    write_rows(folder / "conv_weights.syntxt",
               [np.concatenate([kernels[o, c].ravel() for c in range(3) if MASK[c, o]])
                for o in range(4)])
    write_rows(folder / "conv_biases.syntxt", [[0.5 * o] for o in range(4)])
    for kind, values in (("biases", [1, 2, 3, 4]), ("means", [0, 0, 1, 1]),
                         ("variances", [1, 4, 9, 16])):  # no _scales file: 1.0
        write_rows(folder / f"bn_{kind}.syntxt", [[v] for v in values])
    w = np.arange(3 * 4 * 5 * 4, dtype=np.float32).reshape(3, 80) / 100
    if fc_single:
        write_rows(folder / "fc.syntxt", [list(w[o]) + [10 + o] for o in range(3)])
    else:
        write_rows(folder / "fc_weights.syntxt", list(w))
        write_rows(folder / "fc_biases.syntxt", [[10 + o] for o in range(3)])


def test_n2d2_text_folder(tmp_path: Path, lower, kernels) -> None:
    write_text_params(tmp_path / "weights", kernels)
    graph = lower(NET, params="weights")
    c = consts(graph)
    expected = np.where(MASK.T[:, :, None, None], kernels, 0)
    np.testing.assert_array_equal(c["conv/weights"], expected)
    np.testing.assert_array_equal(c["conv/biases"], [0, 0.5, 1, 1.5])
    assert graph.find_op("conv/conv").group == 1
    assert "partial" in graph.metadata["layers"]["conv"]["mapping"]
    np.testing.assert_array_equal(c["bn/scales"], [1, 1, 1, 1])
    np.testing.assert_array_equal(c["bn/variances"], [1, 4, 9, 16])
    assert c["fc/weights"].shape == (3, 80)
    np.testing.assert_array_equal(c["fc/biases"], [10, 11, 12])
    assert graph.metadata["parameters"] == "parameter folder 'weights'"


def test_single_file_layer_and_other_formats(tmp_path: Path, lower, kernels) -> None:
    write_text_params(tmp_path / "w", kernels, fc_single=True)
    base = consts(lower(NET, params="w"))
    # the same conv written kernel-position-major (HWCO) and flipped
    pairs = [(c, o) for c in range(3) for o in range(4) if MASK[c, o]]
    flat = {(c, o): kernels[o, c].ravel()[::-1] for c, o in pairs}
    write_rows(tmp_path / "w" / "conv_weights.syntxt",
               [[flat[p][i] for p in pairs] for i in range(6)])
    text = NET.replace("Mapping(env)",
                       "WeightsExportFormat=HWCO\nWeightsExportFlip=1\nMapping(env)")
    other = consts(lower(text, params="w"))
    np.testing.assert_array_equal(base["conv/weights"], other["conv/weights"])
    np.testing.assert_array_equal(base["fc/biases"], [10, 11, 12])


def test_text_errors(tmp_path: Path, lower, kernels) -> None:
    write_text_params(tmp_path / "w", kernels)
    (tmp_path / "w" / "bn_means.syntxt").unlink()
    err = error_of(lower, NET, params="w")
    assert isinstance(err, InputError) and "'bn_means.syntxt'" in str(err)
    assert "layer [bn]" in str(err)
    write_text_params(tmp_path / "w", kernels)
    with open(tmp_path / "w" / "conv_biases.syntxt", "a") as f:
        f.write("7\n")
    err = error_of(lower, NET, params="w")
    assert "conv_biases.syntxt' has 5 values, 4 expected" in str(err)
    (tmp_path / "w" / "conv_biases.syntxt").write_text("1 2 x 4")
    assert "not a number" in str(error_of(lower, NET, params="w"))


def test_npz_and_mapping_sources(tmp_path: Path, lower, kernels) -> None:
    arrays = {"conv.weights": kernels, "conv.biases": np.ones(4, np.float32),
              "bn.scales": np.full(4, 2, np.float32), "bn.biases": np.zeros(4, np.float32),
              "bn.means": np.zeros(4, np.float32), "bn.variances": np.ones(4, np.float32),
              "fc.weights": np.ones((3, 80), np.float32), "fc.biases": np.zeros(3, np.float32),
              "extra.weights": np.zeros(1, np.float32)}
    np.savez(tmp_path / "p.npz", **arrays)
    graph = lower(NET, params="p.npz")
    c = consts(graph)
    np.testing.assert_array_equal(c["conv/weights"], np.where(MASK.T[:, :, None, None], kernels, 0))
    np.testing.assert_array_equal(c["bn/scales"], [2, 2, 2, 2])
    assert any("unused arrays extra.weights" in w for w in graph.metadata["warnings"])
    assert consts(lower(NET, params=arrays))["fc/weights"].shape == (3, 80)

    bad = dict(arrays, **{"fc.weights": np.ones((3, 79), np.float32)})
    err = error_of(lower, NET, params=bad)
    assert isinstance(err, InputError) and "'fc.weights' has shape [3, 79], expected [3, 80]" \
        in str(err)
    missing = {k: v for k, v in arrays.items() if k != "bn.means"}
    assert "has no 'bn.means' for layer [bn]" in str(error_of(lower, NET, params=missing))


def test_parameter_source_is_confined(tmp_path: Path, lower) -> None:
    err = error_of(lower, NET, params="../outside.npz")
    assert isinstance(err, InputError) and "refusing parameter source" in str(err)
    assert "does not exist" in str(error_of(lower, NET, params="absent.npz"))


FILLED = """
[sp]
SizeX=16
SizeY=16
NbChannels=8

[he]
Input=sp
Type=Conv
KernelDims=3 3
NbOutputs=64
WeightsFiller=HeFiller
BiasFiller=ConstantFiller
BiasFiller.Value=0.25

[xavier]
Input=sp
Type=Conv
KernelDims=3 3
NbOutputs=64
NoBias=1
WeightsFiller=XavierFiller
WeightsFiller.VarianceNorm=Average
WeightsFiller.Scaling=2.0

[uniform]
Input=sp
Type=Fc
NbOutputs=10
WeightsFiller=UniformFiller
WeightsFiller.Min=-0.5
WeightsFiller.Max=0.25

[default]
Input=sp
Type=Fc
NbOutputs=100
"""


def test_fillers(lower) -> None:
    c = consts(lower(FILLED, seed=7))
    he = c["he/weights"]
    assert he.dtype == np.float32
    assert abs(he.std() - math.sqrt(2.0 / (8 * 9))) < 0.02
    np.testing.assert_array_equal(c["he/biases"], np.full(64, 0.25, np.float32))
    limit = 2.0 * math.sqrt(3.0 / ((8 * 9 + 64 * 9) / 2))
    x = c["xavier/weights"]
    assert np.abs(x).max() <= limit and np.abs(x).max() > 0.9 * limit
    assert "xavier/biases" not in c
    u = c["uniform/weights"]
    assert u.min() >= -0.5 and u.max() <= 0.25
    d = c["default/weights"]  # N2D2's default: NormalFiller(0.0, 0.05)
    assert abs(d.std() - 0.05) < 0.005 and abs(d.mean()) < 0.005
    again = consts(lower(FILLED, seed=7))
    other = consts(lower(FILLED, seed=8))
    np.testing.assert_array_equal(again["he/weights"], he)
    assert not np.array_equal(other["he/weights"], he)


def test_filler_errors_and_limits(lower) -> None:
    err = error_of(lower, FILLED.replace("WeightsFiller=HeFiller", "WeightsFiller=MagicFiller"))
    assert isinstance(err, InputError)
    assert "[he]WeightsFiller: 'MagicFiller' is not one of" in str(err) and "HeFiller" in str(err)
    err = error_of(lower, FILLED, max_param_bytes=1000)
    assert isinstance(err, ResourceLimitError) and "[he]" in str(err)
    zeros = consts(lower(FILLED, init="zeros"))
    assert not zeros["he/weights"].any()
    huge = "[sp]\nSizeX=2\nSizeY=2\n[p]\nInput=sp\nType=Pool\nPoolSize=1\nNbOutputs=999999999\n" \
        "Mapping.Size=1\n"
    err = error_of(lower, huge)
    assert isinstance(err, ResourceLimitError) and "channel connections" in str(err)


def test_npz_arrays_are_checked_before_reading(tmp_path: Path, lower) -> None:
    np.savez_compressed(tmp_path / "big.npz", **{"x.weights": np.zeros((1000, 1000), np.float32)})
    err = error_of(lower, FILLED, params="big.npz", max_param_bytes=100_000)
    assert isinstance(err, ResourceLimitError) and "array 'x.weights' [1000, 1000]" in str(err)
