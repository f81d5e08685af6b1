"""Every INI file of the N2D2 corpus loads, and every value it holds evaluates."""

from __future__ import annotations

from pathlib import Path

import pytest

from n2d2c.errors import InputError
from n2d2c.frontend.ini import load_ini

from .helpers import CORPUS

FILES = sorted(CORPUS.rglob("*.ini")) if CORPUS.is_dir() else []

# Files that may not load, with the reason.  Kept empty on purpose: every
# corpus file must load.  (Add "relative/path.ini": "why" only with a reason.)
XFAIL: dict[str, str] = {}

# Values that are expected to fail evaluation: a typo in N2D2's own model zoo
# (``${STEPDECAY_RATE}`` for ``${STEP_DECAY_RATE}``) in properties N2D2 never
# reads; loading must succeed (evaluation is lazy) but reading them fails.
KNOWN_BAD_VARIABLES = {"STEPDECAY_RATE"}


def _env(corpus: Path) -> dict[str, str]:
    return {"N2D2_MODELS": str(corpus / "models"), "N2D2_DATA": str(corpus / "data")}


def _derived(section: str, prop: str):
    # Stand-in for the network lowering: every derived value is 8.
    return 8


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_file_loads_and_evaluates(path: Path, corpus: Path) -> None:
    rel = str(path.relative_to(corpus))
    if rel in XFAIL:
        pytest.xfail(XFAIL[rel])
    doc = load_ini(path, env=_env(corpus))
    assert doc.section_names(), rel
    for section in [doc.globals, *doc]:
        for key, prop in section.properties.items():
            try:
                doc.evaluate(section.name, key, resolver=_derived)
            except InputError as err:
                assert any(v in str(err) for v in KNOWN_BAD_VARIABLES), str(err)
                assert prop.value.location.file == str(path)


def test_corpus_summary(corpus: Path, capsys) -> None:
    assert FILES, "no .ini file in the corpus"
    loaded = [p for p in FILES if load_ini(p, env=_env(corpus)).sections]
    with capsys.disabled():
        print(f"\n[n2d2 ini corpus] loaded {len(loaded)}/{len(FILES)} files "
              f"({len(XFAIL)} xfail)")
    assert len(loaded) == len(FILES) - len(XFAIL)


def test_mobilenet_v2_template_expansion(corpus: Path) -> None:
    doc = load_ini(corpus / "models" / "MobileNet_v2.ini", env=_env(corpus))
    names = doc.section_names()
    # The instance section stays, its template's sections follow it directly.
    start = names.index("conv3.2")
    assert names[start:start + 5] == ["conv3.2", "conv3.2_1x1", "conv3.2_3x3",
                                      "conv3.2_1x1_linear", "conv3.2_sum"]
    assert "conv3.1_sum" not in doc  # RESIDUAL not set for conv3.1
    assert doc.section("conv3.2").is_template_instance
    gen = doc.section("conv3.2_3x3")
    assert gen.instance == "conv3.2" and gen.template.name == "MobileNet_v2-bottleneck.ini.tpl"
    assert gen.base == "conv_def"
    assert doc.get_str("conv3.2_3x3", "Type") == "Conv"          # copied from conv_def
    assert doc.section("conv3.2_3x3").properties["Type"].inherited_from == "conv_def"
    assert doc.get_list("conv3.2_sum", "Input") == ["conv3.2_1x1_linear", "conv3.1_1x1_linear"]
    # $(${L}**(-1.0/(2*3-2)) if ${L} > 0 else 1.0) with $L=10
    assert doc.get_float("conv3.2_1x1", "WeightsFiller.Scaling") == pytest.approx(10 ** -0.25)
    assert doc.get_float("conv3.2_1x1_linear", "WeightsFiller.Scaling") == 0.0
    # $([{{INPUT}}]NbOutputs * {{EXPANSION}}): int(24 * 0.5) * 6
    assert doc.get_int("conv3.2_1x1", "NbOutputs") == 72
    loc = doc.value("conv3.2_1x1", "NbOutputs").location
    assert (Path(loc.file).name, loc.line, loc.col) == ("MobileNet_v2-bottleneck.ini.tpl", 4, 11)
    assert doc.get_int("conv9", "NbOutputs") == 1280
    assert doc.stimuli_provider() == "sp"
    assert doc.targets() == ["softmax.Target"]


def test_resnet_set_inside_if(corpus: Path) -> None:
    doc = load_ini(corpus / "models" / "ResNet-18.ini", env=_env(corpus))
    # PROJECTION_SHORTCUT=1: the sum takes the projection ({% set INPUT %}).
    assert doc.get_list("conv2.1_sum", "Input") == ["conv2.1_3x3_2", "conv2.1_1x1_proj"]
    assert doc.get_list("conv2.2_sum", "Input") == ["conv2.2_3x3_2", "conv2.1_sum"]
    assert doc.get_int("conv5.2_3x3_1", "NbOutputs") == 512
    with pytest.raises(InputError, match="_OutputsWidth"):
        doc.get_list("pool", "PoolDims", item=int)
    sizes = {"_OutputsWidth": 7, "_OutputsHeight": 7}
    assert doc.get_list("pool", "PoolDims", item=int,
                        resolver=lambda s, p: sizes.get(p)) == [7, 7]


def test_undefined_variable_in_unread_property_is_lazy(corpus: Path) -> None:
    path = corpus / "models" / "ONNX" / "resnet-18-v1-onnx.ini"
    doc = load_ini(path, env=_env(corpus))
    with pytest.raises(InputError, match=r"undefined variable \$\{STEPDECAY_RATE\}") as info:
        doc.get_float("common.config", "Solvers.LearningRateDecay")
    assert str(info.value).startswith(f"{path}:")
    # File= names a model next to the INI via ${N2D2_MODELS}; it is confined, not opened.
    resolved = doc.resolve_file("onnx", "File", must_exist=False)
    assert resolved.name == "resnet18v1.onnx"
