"""Variables, references, $(...) arithmetic and lazy evaluation."""

from __future__ import annotations

import math

import pytest

from n2d2c.errors import InputError, ParseError, ResourceLimitError
from n2d2c.frontend.ini import IniLimits, PropRef, VarRef

from .helpers import assert_at, error_of


def test_ini_variables_and_environment(load) -> None:
    doc = load("""
        $SIZE=160
        $MARGIN=32
        $EPOCHS=$(4 * ${STEP})
        $STEP=39
        [sp]
        SizeX=${SIZE}
        Width=$(${SIZE} + ${MARGIN})
        Data=${N2D2_DATA}/mnist
        Name=${SECTION_NAME}_out
        Epochs=${EPOCHS}
        [next]
        Prev=${PREV_SECTION_NAME}
        $LOCAL=5
        Local=$(${LOCAL} * 2)
    """, env={"N2D2_DATA": "/data", "SIZE": "999"})
    assert doc.get_int("sp", "SizeX") == 160          # the INI wins over the environment
    assert doc.get_int("sp", "Width") == 192
    assert doc.get_str("sp", "Data") == "/data/mnist"
    assert doc.get_str("sp", "Name") == "sp_out"
    assert doc.get_int("sp", "Epochs") == 156
    assert doc.get_str("next", "Prev") == "sp"
    assert doc.get_int("next", "Local") == 10
    assert set(doc.variables()) == {"SIZE", "MARGIN", "EPOCHS", "STEP"}
    segments = doc.value("sp", "Width").segments
    assert len(segments) == 1 and not doc.value("sp", "Width").is_literal


def test_environment_defaults_to_os_environ(write, monkeypatch) -> None:
    from n2d2c.frontend.ini import load_ini
    monkeypatch.setenv("N2D2C_TEST_VAR", "hello")
    doc = load_ini(write("e.ini", "[a]\nX=${N2D2C_TEST_VAR}\n"))
    assert doc.get_str("a", "X") == "hello"


def test_undefined_variable_is_lazy_and_located(load, tmp_path) -> None:
    doc = load("""
        [a]
        Unused=${NOT_DEFINED}
        Used=$(1 + ${ALSO_MISSING})
    """)
    err = error_of(doc.get_str, "a", "Unused")
    assert isinstance(err, InputError)
    assert_at(err, tmp_path / "main.ini", 2, 8)
    assert "undefined variable ${NOT_DEFINED}" in str(err)
    err = error_of(doc.get_int, "a", "Used")
    assert_at(err, tmp_path / "main.ini", 3, 12)


def test_references(load) -> None:
    doc = load("""
        [sp]
        SizeX=32
        [sp.Transformation-1]
        Width=[sp]SizeX
        [sp.Transformation-2]
        Width=[sp.Transformation-1]Width
        [pool]
        PoolDims=[conv9]_OutputsWidth [conv9]_OutputsHeight
        NbOutputs=[conv9]NbOutputs
        Steps=$([sp]_EpochSize * 2)
        [conv9]
        NbOutputs=$(2 * 640)
    """)
    assert doc.get_int("sp.Transformation-2", "Width") == 32
    assert doc.get_int("pool", "NbOutputs") == 1280
    seg = doc.value("pool", "PoolDims").segments[0]
    assert isinstance(seg, PropRef) and (seg.section, seg.prop) == ("conv9", "_OutputsWidth")
    err = error_of(doc.get_list, "pool", "PoolDims")
    assert "cannot resolve [conv9]_OutputsWidth" in str(err) and "derived" in str(err)
    asked = []

    def resolver(section, prop):
        asked.append((section, prop))
        return {"_OutputsWidth": 7, "_OutputsHeight": 5, "_EpochSize": 60000}.get(prop)

    assert doc.get_list("pool", "PoolDims", item=int, resolver=resolver) == [7, 5]
    assert doc.evaluate("pool", "Steps", resolver=resolver) == 120000
    assert ("sp", "_EpochSize") in asked
    # The document answers first; the resolver is only asked what it lacks.
    assert ("conv9", "NbOutputs") not in asked
    # A resolver answering None is the same as no answer.
    with pytest.raises(InputError, match="_EpochSize"):
        doc.evaluate("pool", "Steps", resolver=lambda s, p: None)


def test_circular_reference(load) -> None:
    doc = load("""
        [a]
        X=[b]Y
        [b]
        Y=$([a]X + 1)
    """)
    err = error_of(doc.get_int, "a", "X")
    assert "circular reference: [a]X -> [b]Y -> [a]X" in str(err)


@pytest.mark.parametrize("expr, expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 / 2", 3.5), ("7 // 2", 3), ("-7 // 2", -4),
    ("7 % 3", 1), ("2 ** 10", 1024), ("-2 ** 2", -4), ("2 ** -1", 0.5), ("2 ** 3 ** 2", 512),
    ("1 < 2", 1), ("1 < 2 < 2", 0), ("3 >= 3", 1), ("1 == 1.0", 1), ("2 != 2", 0),
    ("1 and 0", 0), ("0 or 5", 5), ("not 0", 1), ("1 if 0 else 2", 2),
    ("10 if 2 > 1 else 20", 10), ("min(3, 1, 2)", 1), ("max(1280, 1280 * 0.5)", 1280),
    ("floor(2.7)", 2), ("ceil(2.1)", 3), ("round(2.5)", 2), ("round(2.567, 2)", 2.57),
    ("abs(-4)", 4), ("sqrt(16)", 4.0), ("int(24 * 0.5)", 12), ("float(3)", 3.0),
    ("int(max(1280, 1280 * 0.5))", 1280), ("$(2) + 1", 3), ("1.5e2", 150.0), (".5", 0.5),
    ("True + 1", 2), ("'a' == 'a'", 1),
])
def test_arithmetic(load, expr, expected) -> None:
    doc = load(f"[a]\nX=$({expr})\n")
    result = doc.evaluate("a", "X")
    assert result == expected and type(result) is type(expected), (expr, result)


def test_mobilenet_v2_scaling_forms(load) -> None:
    doc = load("""
        $L=10
        [a]
        Res=$(${L}**(-1.0/(2*3-2)) if ${L} > 0 else 1.0)
        Zero=$(0.0 if ${L} > 0 else 1.0)
        [b]
        $L=0
        Res=$(${L}**(-1.0/(2*3-2)) if ${L} > 0 else 1.0)
    """)
    assert math.isclose(doc.get_float("a", "Res"), 10 ** -0.25)
    assert doc.get_float("a", "Zero") == 0.0
    assert doc.get_float("b", "Res") == 1.0  # the section-local $L wins


def test_expression_spliced_into_text(load) -> None:
    doc = load("""
        $W=4
        [a]
        Dims=$(${W} * 2) $(${W} / 2)
        Name=conv${W}_x
    """)
    assert doc.get_str("a", "Dims") == "8 2.0"
    assert doc.get_list("a", "Dims", item=int) == [8, 2]
    assert doc.get_str("a", "Name") == "conv4_x"
    assert isinstance(doc.value("a", "Name").segments[1], VarRef)


@pytest.mark.parametrize("expr, col, fragment", [
    ("1 +", 8, "unexpected end of expression"),
    ("1 + * 2", 9, "unexpected '*'"),
    ("__import__('os')", 5, "'__import__' is not an allowed function"),
    ("__import__('os').system('ls')", 21, "unexpected character '.'"),
    ("open('/etc/passwd')", 5, "'open' is not an allowed function"),
    ("x + 1", 5, "unknown name 'x'"),
    ("(1).real", 8, "unexpected character '.'"),
    ("[1, 2]", 5, "unexpected"),
    ("lambda: 1", 11, "unexpected"),
    ("1 @ 2", 7, "unexpected character '@'"),
    ("", 5, "empty expression"),
    ("max()", 5, "max() takes 1 to 64 argument(s), got 0"),
    ("sqrt", 9, "must be called"),
])
def test_bad_expressions_rejected_at_load(write, expr, col, fragment) -> None:
    from n2d2c.frontend.ini import load_ini
    path = write("e.ini", f"[a]\nX=$({expr})\n")
    err = error_of(load_ini, path, env={})
    assert isinstance(err, ParseError), str(err)
    assert_at(err, path, 2, col)
    assert fragment in str(err)


@pytest.mark.parametrize("expr, fragment", [
    ("1 / 0", "division by zero"), ("5 // 0", "division by zero"),
    ("sqrt(-1)", "negative"), ("(-8) ** 0.5", "not a real number"),
    ("'a' * 3", "needs a number"), ("10.0 ** 400", "overflow"), ("int(1e400)", "overflow"),
])
def test_runtime_expression_errors(load, expr, fragment) -> None:
    doc = load(f"[a]\nX=$({expr})\n")
    err = error_of(doc.evaluate, "a", "X")
    assert isinstance(err, InputError) and fragment in str(err), str(err)


def test_huge_power_is_a_resource_error(load) -> None:
    doc = load("[a]\nX=$(10 ** 10 ** 10)\n")
    err = error_of(doc.evaluate, "a", "X")
    assert isinstance(err, ResourceLimitError)


def test_expression_length_limit(write) -> None:
    from n2d2c.frontend.ini import load_ini
    path = write("long.ini", "[a]\nX=$(" + "+".join(["1"] * 100) + ")\n")
    err = error_of(load_ini, path, env={}, limits=IniLimits(max_expression_length=50))
    assert isinstance(err, ResourceLimitError)
    assert "--max-expression-length" in str(err) and "max_expression_length" in str(err)
    assert load_ini(path, env={}).get_int("a", "X") == 100


def test_deep_reference_chain_is_a_resource_error(load) -> None:
    lines = ["[s]", "V0=1"] + [f"V{i}=[s]V{i - 1}" for i in range(1, 80)]
    doc = load("\n".join(lines) + "\n")
    err = error_of(doc.evaluate, "s", "V79")
    assert isinstance(err, ResourceLimitError) and "--max-reference-depth" in str(err)
    assert doc.evaluate("s", "V40") == 1
