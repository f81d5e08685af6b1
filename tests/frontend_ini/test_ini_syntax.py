"""Sections, properties, comments, continuations, quotes and base sections."""

from __future__ import annotations

import pytest

from n2d2c.errors import InputError, ParseError

from .helpers import assert_at, error_of


def test_comments_blank_lines_and_trailing_comments(load) -> None:
    doc = load("""
        ; a whole-line comment
        # another one
        DefaultModel=Frame   ; trailing

        [database]
        Type=MNIST_IDX_Database # trailing hash comment
        Validation=0.2 ; Use 20% of the dataset
          Indented = yes
    """)
    assert doc.section_names() == ["database"]
    assert doc.get_str("", "DefaultModel") == "Frame"
    assert doc.get_str("database", "Type") == "MNIST_IDX_Database"
    assert doc.get_float("database", "Validation") == 0.2
    assert doc.get_bool("database", "Indented") is True
    loc = doc.value("database", "Validation").location
    assert (loc.line, loc.col) == (7, 12)


def test_quotes_protect_comment_characters(load) -> None:
    doc = load("""
        [a]
        WeightsMinMean="1.0e-4; 10%"
        Label="#1 # not a comment" ; but this is
    """)
    assert doc.get_str("a", "WeightsMinMean") == "1.0e-4; 10%"
    assert doc.value("a", "WeightsMinMean").quoted
    assert doc.get_str("a", "Label") == "#1 # not a comment"


def test_continuation_lines(load) -> None:
    doc = load("""
        [conv2]
        Mapping(pool1)=\\
        1 0 1 \\
        0 1 0
        Next=1
    """)
    assert doc.get_list("conv2", "Mapping(pool1)", item=int) == [1, 0, 1, 0, 1, 0]
    loc = doc.value("conv2", "Mapping(pool1)").location
    assert (loc.line, loc.col) == (3, 1)
    assert doc.get_int("conv2", "Next") == 1


def test_crlf_line_endings(write) -> None:
    from n2d2c.frontend.ini import load_ini
    path = write("crlf.ini", "")
    path.write_bytes(b"[sp]\r\nSizeX=32\r\nSizeY=$(16*2)\r\n")
    doc = load_ini(path, env={})
    assert doc.get_int("sp", "SizeX") == 32 and doc.get_int("sp", "SizeY") == 32


def test_value_forms(load) -> None:
    doc = load("""
        [v]
        Int=42
        Neg=-3
        Float=1.5e-3
        Spaces=5 5
        Commas=a,b , c
        True1=true
        False1=No
        Path=some/dir/file.dat
        Thousands=10,000,000
        Empty=
    """)
    assert doc.get_int("v", "Int") == 42 and doc.get_int("v", "Neg") == -3
    assert doc.get_float("v", "Float") == 1.5e-3
    assert doc.get_list("v", "Spaces", item=int) == [5, 5]
    assert doc.get_list("v", "Commas") == ["a", "b", "c"]
    assert doc.get_bool("v", "True1") is True and doc.get_bool("v", "False1") is False
    assert doc.get_str("v", "Path") == "some/dir/file.dat"
    assert doc.get_int("v", "Thousands") == 10_000_000
    assert doc.get_str("v", "Empty") == "" and doc.get_list("v", "Empty") == []
    assert doc.evaluate("v", "Int") == 42 and doc.evaluate("v", "Spaces") == "5 5"
    assert doc.get_int("v", "Missing", 7) == 7
    with pytest.raises(InputError, match="must be an integer"):
        doc.get_int("v", "Float")
    with pytest.raises(InputError, match="no property Missing"):
        doc.get_int("v", "Missing")
    with pytest.raises(InputError, match="no section"):
        doc.get_int("nope", "X")


def test_implicit_concatenation_input_list(load) -> None:
    doc = load("""
        [sum]
        Input=conv1,conv2
    """)
    assert doc.get_list("sum", "Input") == ["conv1", "conv2"]
    assert doc.value("sum", "Input").text == "conv1,conv2"


def test_base_section_copy_and_override(load) -> None:
    doc = load("""
        [conv_def]
        Type=Conv
        ActivationFunction=Rectifier
        ConfigSection=common.config

        [conv1] conv_def
        ActivationFunction=Linear
        KernelDims=3 3

        [relu]ReluQ_def
        [ReluQ_def]
        QAct=LSQ

        [fc2] ; quant is commented out
        Type=Fc
    """)
    conv1 = doc.section("conv1")
    assert conv1.base == "conv_def" and conv1.base_location.col == 9
    assert conv1.keys() == ["Type", "ConfigSection", "ActivationFunction", "KernelDims"]
    assert doc.get_str("conv1", "Type") == "Conv"
    assert doc.get_str("conv1", "ActivationFunction") == "Linear"
    assert conv1.properties["Type"].inherited_from == "conv_def"
    assert conv1.properties["ActivationFunction"].inherited_from is None
    # Bases named before they are defined are copied at the end of loading.
    assert doc.get_str("relu", "QAct") == "LSQ"
    assert doc.section("fc2").base is None


def test_config_sections(load) -> None:
    doc = load("""
        [fc]
        ConfigSection=common.config,fc.config
        ConfigSection(Spike)=spike.config
        [common.config]
        NoBias=1
        WeightsFiller.Scaling=0.5
        [fc.config]
        NoBias=0
        [spike.config]
        Threshold=1.0
        [bad]
        ConfigSection=missing.config
    """)
    fc = doc.section("fc")
    assert fc.config_section_names() == ["common.config", "fc.config"]
    merged = fc.config_sections()
    assert merged["NoBias"].value.text == "0"  # later sections override earlier ones
    assert merged["WeightsFiller.Scaling"].value.text == "0.5"
    assert list(fc.config_sections(model="Spike")) == ["Threshold"]
    assert list(fc.config_sections(model="Frame")) == ["NoBias", "WeightsFiller.Scaling"]
    with pytest.raises(InputError, match="no section \\[missing.config\\]"):
        doc.section("bad").config_sections()


def test_stimuli_provider_and_targets(load) -> None:
    doc = load("""
        [env]
        SizeX=32
        [env.Transformation-1]
        Type=RescaleTransformation
        [fc]
        Input=env
        [fc.Target]
        [fc2.Target]
        TopN=5
    """)
    assert doc.stimuli_provider() == "env"
    assert doc.targets() == ["fc.Target", "fc2.Target"]
    assert doc.subsections("env") == ["env.Transformation-1"]


def test_duplicate_property_last_wins_with_warning(load) -> None:
    doc = load("""
        [a]
        X=1
        X=2
    """)
    assert doc.get_int("a", "X") == 2
    (loc, message), = doc.warnings
    assert loc.line == 3 and "set again" in message


@pytest.mark.parametrize("text, line, col, fragment", [
    ("[sp]\nSizeX=1\n[conv1\nType=Conv\n", 3, 1, "unterminated section header '[conv1': expected ']'"),
    ("[]\n", 1, 1, "empty section name"),
    ("[a]\nthis line has no equal sign\n", 2, 1, "expected 'key=value'"),
    ("[a]\n  =3\n", 2, 3, "missing property name"),
    ("[a]\nX=\"open quote\n", 2, 3, "unterminated quoted string"),
    ("[a] base extra\n", 1, 5, "unexpected text 'base extra'"),
    ("[a]\n[a]\n", 2, 1, "duplicate section [a]"),
    ("[a]\nX=${unclosed\n", 2, 3, "unterminated variable"),
    ("[a]\nX=$(1 + (2)\n", 2, 3, "unterminated expression"),
    ("[a]\nX=${bad name}\n", 2, 5, "bad variable name"),
])
def test_syntax_errors_are_located(write, text, line, col, fragment) -> None:
    from n2d2c.frontend.ini import load_ini
    path = write("bad.ini", "")
    path.write_text(text)
    err = error_of(load_ini, path, env={})
    assert isinstance(err, ParseError)
    assert_at(err, path, line, col)
    assert fragment in str(err)


def test_missing_file_is_input_error(tmp_path) -> None:
    from n2d2c.frontend.ini import load_ini
    err = error_of(load_ini, tmp_path / "nope.ini")
    assert isinstance(err, InputError) and "nope.ini" in str(err)
    err = error_of(load_ini, tmp_path)  # a directory
    assert isinstance(err, InputError)


def test_missing_base_section(write) -> None:
    from n2d2c.frontend.ini import load_ini
    path = write("m.ini", "[a] nothere\nX=1\n")
    err = error_of(load_ini, path, env={})
    assert_at(err, path, 1, 5)
    assert "base section [nothere]" in str(err)


def test_circular_base_sections(write) -> None:
    from n2d2c.frontend.ini import load_ini
    path = write("m.ini", "[a] b\n[b] a\n")
    err = error_of(load_ini, path, env={})
    assert "circular base sections" in str(err)
