"""Every network of the N2D2 corpus lowers to a verified graph, or fails clearly.

Allowed outcomes:

* ``lowered``: a verified graph whose input is ``1 x NbChannels x SizeY x SizeX``
  from the file's stimuli provider;
* ``spiking``: UnsupportedError "spiking networks are not supported" at file:line:col;
* ``missing file``: InputError naming the section's ``File`` and the missing file
  (the corpus does not ship the ONNX models its INI files embed).

One file cannot be in those categories, and is listed with the reason:
ResNet-18-BN.ini, which has no ``[sp]`` section at all (N2D2 cannot run it
either); it lowers when the caller gives the input size.  (The Faster R-CNN
network lowers: test_network_detection.py checks it further.)
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path

import pytest

from n2d2c.errors import InputError, N2D2CError, UnsupportedError
from n2d2c.frontend.ini import load_ini, load_ini_network
from n2d2c.ir import verify

from .helpers import CORPUS
from .network_helpers import corpus_env

FILES = sorted(CORPUS.rglob("*.ini")) if CORPUS.is_dir() else []

# relative path -> (category, what the error must say)
EXCEPTIONS = {
    "models/ResNet-18-BN.ini": ("no stimuli provider", "has no stimuli provider section"),
}
LOCATED = re.compile(r"^/.+\.ini:\d+:\d+: ")


@functools.lru_cache(maxsize=None)
def outcome(rel: str) -> tuple[str, object]:
    path = CORPUS / rel
    try:
        graph = load_ini_network(path, env=corpus_env(), allow_dirs=[CORPUS])
    except N2D2CError as err:
        return "error", err
    return "lowered", graph


def _expected_input(path: Path) -> tuple[int, int, int, int]:
    doc = load_ini(path, env=corpus_env())
    sp = doc.stimuli_provider()
    channels = doc.get_int(sp, "NbChannels", 1)
    extractions = [n for n in doc.subsections(sp) if n.startswith(f"{sp}.ChannelTransformation")
                   and not doc.has(n, "Channel")]
    if extractions:
        channels = len(extractions)
    return (1, channels, doc.get_int(sp, "SizeY"), doc.get_int(sp, "SizeX"))


def classify(rel: str) -> str:
    kind, result = outcome(rel)
    path = CORPUS / rel
    if kind == "lowered":
        verify(result)
        assert result.inputs[0].shape == _expected_input(path), rel
        return "lowered"
    err = result
    text = str(err)
    if isinstance(err, UnsupportedError) and "spiking networks are not supported" in text:
        assert LOCATED.match(text) and text.startswith(str(path)), text
        return "spiking"
    if isinstance(err, InputError) and re.search(r"\[[^\]]+\]File '[^']+' not found", text):
        assert "does not exist" in text and LOCATED.match(text), text
        return "missing file"
    if rel in EXCEPTIONS:
        category, message = EXCEPTIONS[rel]
        assert message in text, text
        return category
    raise AssertionError(f"{rel}: unexpected outcome: {text}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_network(path: Path, corpus: Path) -> None:
    classify(str(path.relative_to(corpus)))


def test_corpus_network_summary(corpus: Path, capsys) -> None:
    assert FILES
    counts = Counter(classify(str(p.relative_to(corpus))) for p in FILES)
    with capsys.disabled():
        print("\n[n2d2 ini networks] " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
              + f" (of {len(FILES)})")
    assert set(counts) <= {"lowered", "spiking", "missing file", "no stimuli provider"}
    assert counts["lowered"] >= 21
    assert counts["no stimuli provider"] == 1


def test_resnet18_bn_lowers_with_an_input_size(corpus: Path) -> None:
    graph = load_ini_network(corpus / "models/ResNet-18-BN.ini", env=corpus_env(),
                             allow_dirs=[corpus], input_size=(224, 224, 3), init="zeros")
    assert graph.inputs[0].shape == (1, 3, 224, 224)
    assert graph.outputs[0].shape == (1, 1000)
    assert any("input size 224x224x3 was given by the caller" in w
               for w in graph.metadata["warnings"])


def test_spiking_error_names_the_line(corpus: Path) -> None:
    with pytest.raises(UnsupportedError) as info:
        load_ini_network(corpus / "models/mnist-stdp.ini", env=corpus_env(), allow_dirs=[corpus])
    text = str(info.value)
    assert text.startswith(f"{corpus / 'models/mnist-stdp.ini'}:")
    assert "spiking networks are not supported" in text and "Spike_Analog" in text


def test_missing_onnx_file_names_file_and_section(corpus: Path) -> None:
    path = corpus / "models/MobileNet_v1_ONNX.ini"
    with pytest.raises(InputError) as info:
        load_ini_network(path, env=corpus_env(), allow_dirs=[corpus])
    text = str(info.value)
    assert "[onnx]File 'mobilenet_v1_1.0_224.onnx'" in text and "does not exist" in text
    doc = load_ini(path, env=corpus_env())
    loc = doc.value("onnx", "File").location
    assert text.startswith(f"{loc.file}:{loc.line}:{loc.col}: ")
