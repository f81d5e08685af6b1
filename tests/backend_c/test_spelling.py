"""The C spelling seam: macros a target overrides, strict template contexts, shared files."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import jinja2
import pytest

from n2d2c.backends.c import CEmitter, Ctx, lower_graph
from n2d2c.backends.c.program import Activation
from n2d2c.backends.cpp import CppEmitter
from n2d2c.examples import zoo
from n2d2c.frontend.onnx import load_onnx

from backend_cpp.test_quantized import CASES as INT_CASES


def _lenet_program():
    return lower_graph(load_onnx(zoo.lenet(seed=1)), "lenet")


def test_strict_context_refuses_a_misspelt_name():
    ctx = Ctx(x=1)
    ctx.y = 2
    assert ctx["y"] == 2 and ctx.x == 1
    with pytest.raises(AttributeError, match="no 'z'"):
        ctx.z  # noqa: B018
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ k.misspelt }}").render(k=ctx)


def test_a_target_overrides_one_macro_and_inherits_the_rest(tmp_path):
    """A target's spelling.j2 that defines only requantize_function changes the requantize
    functions; activations still come from the generic macros."""
    (tmp_path / "mcu").mkdir()
    (tmp_path / "mcu" / "spelling.j2").write_text(
        "{% macro requantize_function(r) %}\n"
        "static inline {{ r.yt }} {{ r.name }}(int32_t v, int c) { return __SSAT(v, 8); }\n"
        "{% endmacro %}\n")

    class McuEmitter(CEmitter):
        target: ClassVar[str] = "mcu"
        template_dirs: ClassVar[tuple[Path, ...]] = (tmp_path / "mcu",) + CEmitter.template_dirs

    graph = next(c.graph for c in INT_CASES if c.name.startswith("lenet_single"))
    emitter = McuEmitter(lower_graph(graph, "q"))
    code = emitter.render_files()["network.c"]
    assert "__SSAT(v, 8)" in code and "int64_t v, int c" not in code
    assert emitter.act(Activation("relu"), "x") == "n2d2c_relu(x)"
    generic = CEmitter(lower_graph(graph, "q")).render_files()["network.c"]
    assert "__SSAT" not in generic and "(int64_t v, int c)" in generic


def test_spelling_of_activations_and_scalars():
    e = CEmitter(_lenet_program())
    assert e.act(Activation("clip", (("min", 0.0), ("max", 6.0))), "v") == \
        "n2d2c_clip(v, 0.0f, 6.0f)"
    assert e.act(Activation("clip", (("min", float("-inf")), ("max", 6.0))), "v") == \
        "n2d2c_min(v, 6.0f)"
    assert e.act(Activation("relu"), "v", "int8") == "n2d2c_clamp_i64(v, INT64_C(0), INT64_C(127))"
    assert e.scalar_fn("affine", ["x", "s", "b"], {}) == "x * s + b"
    assert e.scalar_fn("max", ["a", "b"], {"out_dtype": "int8"}) == "(a > b ? a : b)"


def test_c_and_cpp_share_one_support_header():
    c = CEmitter(_lenet_program()).render_files()["n2d2c_support.h"]
    cpp = CppEmitter(_lenet_program()).render_files()["n2d2c_support.hpp"]
    shared = c[c.index("// Element-wise helpers"):c.rindex("#endif")]
    assert shared.strip() and shared in cpp
    assert "#define N2D2C_SUPPORT_HPP" in cpp and "N2D2C_VLEN" in cpp
    assert "N2D2C_VLEN" not in c
