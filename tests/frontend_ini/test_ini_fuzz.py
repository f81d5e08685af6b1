"""Garbage in, N2D2CError out: never another exception type for bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from n2d2c.errors import N2D2CError
from n2d2c.frontend.ini import IniLimits, load_ini

from .helpers import CORPUS

CORPUS_FILES = sorted(CORPUS.rglob("*.ini")) + sorted(CORPUS.rglob("*.tpl")) \
    if CORPUS.is_dir() else []

# Pieces that exercise every construct of the language, to be shuffled together.
TOKENS = [
    "[", "]", "[sp]", "[a] b", "[b]", "[x@t.ini.tpl]", "[y@../t.ini.tpl]", "=", "\n", "\n",
    "\\\n", ";", "#", '"', " ", "\t", "$", "${", "}", "${X}", "${SECTION_NAME}", "$(", ")",
    "(", "1", "0.5", "-", "+", "*", "**", "/", "//", "%", " if ", " else ", " and ", "not ",
    "max(", ",", "[sp]SizeX", "[a]_Width", "{{", "}}", "{{INPUT}}", "{%", "%}", "{% if A exists %}",
    "{% endif %}", "{% for i in range(3) %}", "{% endfor %}", "{% set A %}", "{% endset %}",
    "{% block N %}", "{% endblock %}", "{% include t.ini.tpl %}", "Key", "X", "$X", "\r\n",
    "ConfigSection", "a.config", "@", "é", "\x00",
]
# N2D2C_FUZZ_EXAMPLES=5000 for a longer local run.
SETTINGS = settings(max_examples=int(os.environ.get("N2D2C_FUZZ_EXAMPLES", "300")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
LIMITS = IniLimits(max_depth=8, max_sections=2000, max_loop_iterations=2000,
                   max_file_size=1 << 20)


def _exercise(path: Path) -> None:
    """Load, then read every property in every typed way; only N2D2CError may escape."""
    try:
        doc = load_ini(path, env={"X": "3", "N2D2_MODELS": str(path.parent)}, limits=LIMITS)
    except N2D2CError:
        return
    for section in [doc.globals, *doc]:
        for key in section.properties:
            for getter in (doc.evaluate, doc.get_int, doc.get_float, doc.get_bool,
                           doc.get_str, doc.get_list):
                try:
                    getter(section.name, key, resolver=lambda s, p: 2)
                except N2D2CError:
                    pass
        if section.name:
            try:
                section.config_sections()
            except N2D2CError:
                pass
    doc.section_names(), doc.targets(), doc.stimuli_provider()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    (path / "t.ini.tpl").write_text("[{{SECTION_NAME}}_t]\nInput={{INPUT}}\nN=$(1+1)\n")
    # The corpus templates, so that mutated models still instantiate them.
    for template in (CORPUS / "models").glob("*.tpl") if CORPUS.is_dir() else ():
        (path / template.name).write_bytes(template.read_bytes())
    return path


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_token_soup(folder, tokens) -> None:
    path = folder / "soup.ini"
    path.write_text("".join(tokens), encoding="utf-8", errors="surrogatepass")
    _exercise(path)


@SETTINGS
@given(st.text(max_size=300))
def test_random_text(folder, text) -> None:
    path = folder / "text.ini"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _exercise(path)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_random_template(folder, tokens) -> None:
    (folder / "rand.ini.tpl").write_text("".join(tokens))
    path = folder / "inst.ini"
    path.write_text("[sp]\n[inst@rand.ini.tpl]\nINPUT=sp\nA=1\nN=2\nN[0]X=1\n")
    _exercise(path)


@pytest.mark.skipif(not CORPUS_FILES, reason="N2D2 INI corpus not available")
@SETTINGS
@given(st.data())
def test_mutated_corpus_files(folder, data) -> None:
    source = data.draw(st.sampled_from(CORPUS_FILES), label="file")
    text = bytearray(source.read_bytes())
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        pos = data.draw(st.integers(0, len(text)), label="pos")
        kind = data.draw(st.sampled_from(["delete", "insert", "replace"]), label="kind")
        if kind == "delete":
            del text[pos:pos + data.draw(st.integers(1, 40))]
        else:
            piece = data.draw(st.sampled_from(TOKENS)).encode("utf-8", "surrogatepass")
            if kind == "replace":
                del text[pos:pos + len(piece)]
            text[pos:pos] = piece
    # Mutated templates are instantiated through a small wrapper INI.
    if source.suffix == ".tpl":
        (folder / "mut.ini.tpl").write_bytes(bytes(text))
        path = folder / "mut_wrapper.ini"
        path.write_text("[conv_def]\n[bn_def]\n[m@mut.ini.tpl]\nINPUT=conv_def\nNB_FILTERS=4\n"
                        "STRIDES=1\nEXPANSION=2\nRESIDUAL=1\nPROJECTION_SHORTCUT=1\n")
    else:
        path = folder / "mut.ini"
        path.write_bytes(bytes(text))
    _exercise(path)
