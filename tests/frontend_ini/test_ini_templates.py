"""Template instances: [name@file.ini.tpl] and N2D2's template statements."""

from __future__ import annotations

import pytest

from n2d2c.errors import InputError, ParseError, ResourceLimitError
from n2d2c.frontend.ini import IniLimits, load_ini

from .helpers import assert_at, error_of

BLOCK_TPL = """
[{{SECTION_NAME}}_conv] conv_def
Input={{INPUT}}
NbOutputs=$({{NB}} * 2)
{% if RESIDUAL exists %}
Residual=yes
{% else %}
Residual=no
{% endif %}
{% if NO_RELU not_exists %}
ActivationFunction=Rectifier
{% endif %}
{% if STRIDES == 2 %}
Stride=2
{% endif %}
{% if PROJ exists %}
[{{SECTION_NAME}}_proj]
Input={{INPUT}}
{% set INPUT %}{{SECTION_NAME}}_proj{% endset %}
{% endif %}
[{{SECTION_NAME}}_sum]
Input={{SECTION_NAME}}_conv,{{INPUT}}
"""


def test_instantiation_if_else_set(write) -> None:
    write("block.ini.tpl", BLOCK_TPL)
    main = write("main.ini", """
        $ALPHA=0.5
        [conv_def]
        Type=Conv
        [b1@block.ini.tpl]
        INPUT=sp
        NB=$(int(64 * ${ALPHA}))
        RESIDUAL=1
        STRIDES=2
        PROJ=1
        [b2@${TPL_DIR}/block.ini.tpl]
        INPUT=b1_sum
        NB=[b1_conv]NbOutputs
        NO_RELU=1
        STRIDES=1
        [after]
        Input=b2_sum
    """)
    doc = load_ini(main, env={"TPL_DIR": str(main.parent)})
    assert doc.section_names() == ["conv_def", "b1", "b1_conv", "b1_proj", "b1_sum",
                                   "b2", "b2_conv", "b2_sum", "after"]
    assert doc.get_int("b1_conv", "NbOutputs") == 64       # NB evaluated to 32 first
    assert doc.value("b1_conv", "NbOutputs").text == "$(32 * 2)"
    assert doc.get_str("b1_conv", "Type") == "Conv"        # base section from the main file
    assert doc.get_str("b1_conv", "Residual") == "yes"
    assert doc.get_str("b1_conv", "ActivationFunction") == "Rectifier"
    assert doc.get_int("b1_conv", "Stride") == 2
    assert doc.get_list("b1_sum", "Input") == ["b1_conv", "b1_proj"]   # {% set %} in {% if %}
    assert doc.get_str("b2_conv", "Residual") == "no"
    assert "ActivationFunction" not in doc.section("b2_conv")
    assert "Stride" not in doc.section("b2_conv")
    # NB=[b1_conv]NbOutputs is passed through and evaluated where it lands.
    assert doc.value("b2_conv", "NbOutputs").text == "$(64 * 2)"
    assert doc.get_int("b2_conv", "NbOutputs") == 128
    assert doc.get_list("b2_sum", "Input") == ["b2_conv", "b1_sum"]
    gen = doc.section("b2_sum")
    assert gen.instance == "b2" and gen.template.name == "block.ini.tpl"
    assert doc.section("b2").is_template_instance and not gen.is_template_instance
    loc = doc.value("b1_conv", "Residual").location
    assert (loc.file, loc.line, loc.col) == (str(gen.template), 5, 10)


def test_lazy_parameter_passed_as_written(write) -> None:
    write("t.ini.tpl", "[{{SECTION_NAME}}_pool]\nPoolDims={{DIMS}}\nN=$({{N}} + 1)\n")
    main = write("main.ini", """
        [p@t.ini.tpl]
        DIMS=[conv]_OutputsWidth [conv]_OutputsHeight
        N=[conv]_Size
    """)
    doc = load_ini(main, env={})
    assert doc.value("p_pool", "N").text == "$([conv]_Size + 1)"
    sizes = {"_OutputsWidth": 3, "_OutputsHeight": 4, "_Size": 9}
    resolver = lambda s, p: sizes.get(p)  # noqa: E731
    assert doc.get_list("p_pool", "PoolDims", item=int, resolver=resolver) == [3, 4]
    assert doc.get_int("p_pool", "N", resolver=resolver) == 10


def test_for_block_include_and_inline_set(write) -> None:
    write("parts/layer.ini.tpl", "[{{SECTION_NAME}}_l{{i}}]\nWidth={{W}}\n")
    write("parts/stack.ini.tpl", """
        {% set W = w{{WIDTH}} %}
        {% for i in range(N) %}
        {% include layer.ini.tpl %}
        {% endfor %}
        {% for i in range(2, 4) %}
        [{{SECTION_NAME}}_r{{i}}]
        {% endfor %}
        {% block LAYERS %}
        [{{SECTION_NAME}}_b{{#}}]
        Kernel={{.K}}
        {% endblock %}
    """)
    main = write("main.ini", """
        [s@parts/stack.ini.tpl]
        N=2
        WIDTH=8
        LAYERS=2
        LAYERS[0].K=3
        LAYERS[1].K=5
    """)
    doc = load_ini(main, env={})
    assert doc.section_names() == ["s", "s_l0", "s_l1", "s_r2", "s_r3", "s_b0", "s_b1"]
    assert doc.get_str("s_l1", "Width") == "w8"
    assert [doc.get_int(f"s_b{i}", "Kernel") for i in range(2)] == [3, 5]
    loc = doc.value("s_l0", "Width").location
    assert loc.file.endswith("layer.ini.tpl") and loc.line == 2


def test_error_inside_template_points_to_template(write) -> None:
    tpl = write("t.ini.tpl", "[{{SECTION_NAME}}_x]\nA=1\nB=$(1 + )\n")
    main = write("main.ini", "[i@t.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, ParseError)
    assert_at(err, tpl.resolve(), 3, 9)


def test_undefined_template_variable(write) -> None:
    tpl = write("t.ini.tpl", "[{{SECTION_NAME}}_x]\nInput={{INPUT}}\n")
    main = write("main.ini", "[i@t.ini.tpl]\nOTHER=1\n")
    err = error_of(load_ini, main, env={})
    assert_at(err, tpl.resolve(), 2, 7)
    assert "undefined template variable {{INPUT}}" in str(err)


def test_unknown_template_file(write) -> None:
    main = write("main.ini", "[sp]\n[i@missing.ini.tpl]\nINPUT=sp\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, InputError)
    assert_at(err, main, 2, 4)
    assert "'missing.ini.tpl' not found" in str(err) and "[i]" in str(err)


def test_undefined_variable_in_template_path(write) -> None:
    main = write("main.ini", "[i@${NO_SUCH_DIR}/t.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert_at(err, main, 1, 4)
    assert "undefined variable ${NO_SUCH_DIR}" in str(err)


@pytest.mark.parametrize("body, line, col, fragment", [
    ("{% if X exists %}\nA=1\n", 1, 1, "never closed"),
    ("{% endif %}\n", 1, 1, "does not match"),
    ("{% for i in range(2) %}\n{% endif %}\n", 2, 1, "expected '{% endfor %}'"),
    ("{% frobnicate %}\n", 1, 1, "unknown template statement"),
    ("{% if X ~ 3 %}{% endif %}\n", 1, 1, "bad condition"),
    ("{% for i in 3 %}{% endfor %}\n", 1, 1, "bad loop"),
    ("{% else %}\n", 1, 1, "outside of an '{% if %}'"),
    ("A={{INPUT\n", 1, 3, "unterminated template substitution"),
    ("A=1\n{% if X exists\n", 2, 1, "unterminated template statement"),
    ("{% include %}\n", 1, 1, "needs a file name"),
])
def test_template_syntax_errors(write, body, line, col, fragment) -> None:
    tpl = write("t.ini.tpl", body)
    main = write("main.ini", "[i@t.ini.tpl]\nINPUT=a\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, ParseError), str(err)
    assert_at(err, tpl.resolve(), line, col)
    assert fragment in str(err)


def test_recursive_template_hits_depth_limit(write) -> None:
    tpl = write("rec.ini.tpl", "[{{SECTION_NAME}}_r@rec.ini.tpl]\n")
    main = write("main.ini", "[top@rec.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, ResourceLimitError)
    assert_at(err, tpl.resolve(), 1, 1)
    assert "--max-ini-depth" in str(err) and "IniLimits.max_depth" in str(err)
    err = error_of(load_ini, main, env={}, limits=IniLimits(max_depth=3))
    assert isinstance(err, ResourceLimitError)


def test_recursive_include_hits_depth_limit(write) -> None:
    write("inc.ini.tpl", "{% include inc.ini.tpl %}\n")
    main = write("main.ini", "[top@inc.ini.tpl]\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, ResourceLimitError) and "--max-ini-depth" in str(err)


def test_loop_iteration_limit(write) -> None:
    write("loop.ini.tpl", "{% for i in range(N) %}{% endfor %}\n")
    main = write("main.ini", "[top@loop.ini.tpl]\nN=1000000000\n")
    err = error_of(load_ini, main, env={})
    assert isinstance(err, ResourceLimitError) and "--max-template-iterations" in str(err)


def test_section_count_limit(write) -> None:
    write("many.ini.tpl", "{% for i in range(N) %}\n[{{SECTION_NAME}}_{{i}}]\n{% endfor %}\n")
    main = write("main.ini", "[top@many.ini.tpl]\nN=50\n")
    assert len(load_ini(main, env={}).sections) == 51
    err = error_of(load_ini, main, env={}, limits=IniLimits(max_sections=20))
    assert isinstance(err, ResourceLimitError) and "--max-ini-sections" in str(err)


def test_condition_forms(write) -> None:
    write("c.ini.tpl", """
        [{{SECTION_NAME}}_x]
        {% if MODE != fast %}
        Slow=1
        {% endif %}
        {% if FLAG %}
        Flag=1
        {% endif %}
        {% if N >= 3 %}
        Big=1
        {% else %}
        Small=1
        {% endif %}
    """)
    main = write("main.ini", """
        [a@c.ini.tpl]
        MODE=fast
        FLAG=0
        N=2
        [b@c.ini.tpl]
        MODE=slow
        FLAG=yes
        N=$(1 + 2)
    """)
    doc = load_ini(main, env={})
    assert doc.section("a_x").keys() == ["Small"]
    assert doc.section("b_x").keys() == ["Slow", "Flag", "Big"]
