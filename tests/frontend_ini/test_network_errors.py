"""Malformed or unsupported networks: located, specific errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from n2d2c.errors import InputError, UnsupportedError
from n2d2c.frontend import load_model

from .helpers import assert_at, error_of

BASE = """
[sp]
SizeX=8
SizeY=8
NbChannels=2

[conv]
Input=sp
Type=Conv
KernelDims=3 3
NbOutputs=4
ActivationFunction=Rectifier
"""


def net(tmp_path: Path) -> Path:
    return tmp_path / "net.ini"


def test_unknown_layer_type(tmp_path: Path, lower) -> None:
    err = error_of(lower, BASE.replace("Type=Conv", "Type=Convolution"))
    assert isinstance(err, InputError) and not isinstance(err, UnsupportedError)
    assert_at(err, net(tmp_path), 8, 6)
    assert "unknown layer type 'Convolution'; accepted types: " in str(err)
    assert "BatchNorm, Conv, Deconv" in str(err) and "Softmax" in str(err)


@pytest.mark.parametrize("layer_type", ["FMP", "Proposal", "LSTM"])
def test_known_but_unsupported_layer_types(tmp_path: Path, lower, layer_type) -> None:
    err = error_of(lower, BASE.replace("Type=Conv", f"Type={layer_type}"))
    assert isinstance(err, UnsupportedError)
    assert_at(err, net(tmp_path), 8, 6)
    assert f"layer type {layer_type} is not supported" in str(err)


def test_bad_property_values(tmp_path: Path, lower) -> None:
    err = error_of(lower, BASE.replace("KernelDims=3 3", "KernelDims=3 x"))
    assert_at(err, net(tmp_path), 9, 12)
    assert "[conv]KernelDims" in str(err) and "integer" in str(err)
    err = error_of(lower, BASE.replace("KernelDims=3 3", "KernelDims=3 3 3"))
    assert isinstance(err, UnsupportedError) and "3-D kernels" in str(err)
    err = error_of(lower, BASE.replace("NbOutputs=4", "NbOutputs=-4"))
    assert "[conv]NbOutputs: must be positive, got -4" in str(err)
    err = error_of(lower, BASE + "Stride=0\n")
    assert "[conv]Stride: must be >= 1, got 0" in str(err)
    err = error_of(lower, BASE.replace("KernelDims=3 3", "KernelDims=9 9"))
    assert "kernel 9x9" in str(err) and "does not fit the 8x8 input" in str(err)


def test_missing_input_section(tmp_path: Path, lower) -> None:
    err = error_of(lower, BASE.replace("Input=sp", "Input=sp,nope"))
    assert_at(err, net(tmp_path), 7, 7)
    assert "[conv]Input names 'nope', which is neither a layer section" in str(err)


def test_missing_type_and_cycles(tmp_path: Path, lower) -> None:
    err = error_of(lower, BASE.replace("Type=Conv\n", ""))
    assert "[conv]: has Input= but no Type=" in str(err)
    text = BASE + "\n[a]\nInput=b\nType=Dropout\n\n[b]\nInput=a\nType=Dropout\n"
    assert "read each other's outputs in a cycle" in str(error_of(lower, text))


def test_missing_stimuli_and_layers(tmp_path: Path, lower) -> None:
    err = error_of(lower, BASE.replace("[sp]", "[input]"))
    assert "no stimuli provider section [sp] or [env]" in str(err)
    err = error_of(lower, "[sp]\nSizeX=4\nSizeY=4\n")
    assert "describes no layer" in str(err)
    err = error_of(lower, "[sp]\nSizeX=4\n\n[c]\nInput=sp\nType=Dropout\n")
    assert "section [sp] needs the property SizeY" in str(err)


def test_activation_errors(tmp_path: Path, lower) -> None:
    err = error_of(lower, BASE.replace("=Rectifier", "=ReLU"))
    assert "[conv]ActivationFunction: 'ReLU' is not one of Linear, Rectifier" in str(err)


def test_size_and_mapping_errors(tmp_path: Path, lower) -> None:
    pool = "\n[pool]\nInput=conv\nType=Pool\nPoolSize=2\nPooling=Max\nNbOutputs=5\n"
    err = error_of(lower, BASE + pool)
    assert "[pool]NbOutputs: is 5, but the inputs have 4 channels" in str(err)
    err = error_of(lower, BASE + pool.replace("Pooling=Max", "Pooling=Min"))
    assert "[pool]Pooling: 'Min' is not one of Max, Average" in str(err)
    err = error_of(lower, BASE + "Mapping.NbGroups=2\nMapping.ChannelsPerGroup=1\n")
    assert "mutually exclusive" in str(err)
    err = error_of(lower, BASE + "Mapping(sp)=1 0 1\n")
    assert "[conv]Mapping(sp): expects 2 rows (channels of [sp]) of 4 0/1 values" in str(err)
    forward = BASE.replace("NbOutputs=4", "NbOutputs=[later]_OutputsWidth") + \
        "\n[later]\nInput=conv\nType=Dropout\n"
    err = error_of(lower, forward)
    assert isinstance(err, InputError)
    assert "[later]_OutputsWidth is read before layer [later] is built" in str(err)
    assert_at(err, net(tmp_path), 10, 11)
    drop = BASE + "\n[drop]\nInput=conv\nType=Dropout\nNbOutputs=3\n"
    assert "[drop]NbOutputs: is 3, but the layer produces 4 channels" in \
        str(error_of(lower, drop))


def test_elemwise_and_concat_shapes(tmp_path: Path, lower) -> None:
    text = BASE + "\n[sum]\nInput=conv,sp\nType=ElemWise\nOperation=Sum\n"
    err = error_of(lower, text)
    assert "element-wise inputs must have the same shape" in str(err)
    text = BASE + "\n[cat]\nInput=conv,sp\nType=Conv\nKernelSize=1\nNbOutputs=2\n"
    assert "must have the same width and height" in str(error_of(lower, text))
    text = BASE + "\n[sum]\nInput=conv\nType=ElemWise\nOperation=Max\nWeights=2\n"
    assert "weights and shifts apply to Sum" in str(error_of(lower, text))


@pytest.mark.parametrize("extra, what", [
    ("DefaultModel=Spike\n", "DefaultModel=Spike runs N2D2's spiking"),
    ("", "codes its stimuli as spike trains"),
    ("", "configures STDP learning"),
])
def test_spiking_variants(tmp_path: Path, lower, extra, what) -> None:
    text = extra + BASE
    if "spike trains" in what:
        text = text.replace("NbChannels=2", "NbChannels=2\nStimulusType=Poissonian")
    if "STDP" in what:
        text = text + "EnableStdp=1\n"
    err = error_of(lower, text)
    assert isinstance(err, UnsupportedError)
    assert "spiking networks are not supported" in str(err) and what in str(err)
    assert str(err).startswith(f"{net(tmp_path)}:")


def test_targets(tmp_path: Path, lower, write) -> None:
    write("labels.dat", "0 cat\n1 dog\n")
    text = BASE + """
[conv.Target]
Type=TargetROIs
LabelsMapping=labels.dat
TopN=2

[conv.Target-missing]
LabelsMapping=absent.dat
"""
    graph = lower(text, init="zeros")
    first, second = graph.metadata["targets"]["conv"]
    assert first["type"] == "TargetROIs" and first["top_n"] == 2
    assert first["labels_mapping"] == str((tmp_path / "labels.dat").resolve())
    assert first["labels_mapping_exists"] is True
    assert first["location"] == f"{net(tmp_path)}:13:1"
    assert second["type"] == "TargetScore" and second["labels_mapping_exists"] is False
    assert any("absent.dat" in w and "does not exist" in w for w in graph.metadata["warnings"])
    err = error_of(lower, text.replace("labels.dat", "../labels.dat"))
    assert "refusing file named by [conv.Target]LabelsMapping" in str(err)


def test_load_model_reads_ini_files(tmp_path: Path, write) -> None:
    path = write("model.ini", BASE)
    graph = load_model(path)
    assert graph.outputs[0].name == "conv" and graph.outputs[0].shape == (1, 4, 6, 6)
    assert graph.metadata["source_format"] == "n2d2-ini"
