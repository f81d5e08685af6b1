"""Pipeline strings, the pass registry, running options and user pass modules."""

from __future__ import annotations

import io
import textwrap
from typing import Literal

import pytest

from n2d2c.errors import InputError, InternalError, UsageError, VerificationError
from n2d2c.ir import parse_graph
from n2d2c.passes import (EqualizeWeights, FuseBatchNorm, Pass, PassResult, Pipeline,
                          describe_passes, load_pass_module, pass_names, register_pass)
from n2d2c.passes import registry

GRAPH = """graph @g(%x: tensor<1x2xf32>) {
  %drop = dropout(%x) : tensor<1x2xf32>
  %y = relu(%drop) : tensor<1x2xf32>
  return %y
}"""


@pytest.fixture
def scratch_registry():
    """Passes registered inside a test disappear after it."""
    saved = dict(registry.PASSES)
    yield
    registry.PASSES.clear()
    registry.PASSES.update(saved)


def usage_error(text: str) -> str:
    with pytest.raises(UsageError) as info:
        Pipeline.parse(text)
    return str(info.value)


# -- parsing and printing ----------------------------------------------------------------
def test_parse_and_canonical_string():
    p = Pipeline.parse(" fuse-bn , fuse-padding,remove-dropout,"
                       "equalize-weights{ max-iter = 20, tolerance=1e-4, absorb-bias=true } ")
    assert [q.name for q in p] == ["fuse-bn", "fuse-padding", "remove-dropout",
                                   "equalize-weights"]
    assert p.passes[3] == EqualizeWeights(max_iter=20, tolerance=1e-4, absorb_bias=True)
    # Only options that differ from their default are printed.
    assert str(p) == "fuse-bn,fuse-padding,remove-dropout,equalize-weights{tolerance=0.0001," \
                     "absorb-bias=true}"
    assert Pipeline.parse(str(p)) == p
    assert str(Pipeline([FuseBatchNorm(), EqualizeWeights(max_iter=5)])) == \
        "fuse-bn,equalize-weights{max-iter=5}"
    assert str(EqualizeWeights(clip="skip")) == "equalize-weights{clip=skip}"
    assert len(Pipeline.parse("")) == 0


def test_option_value_kinds_round_trip(scratch_registry):
    @register_pass
    class Kinds(Pass):
        """Every kind of option value."""

        name = "kinds"
        count: int = 1
        ratio: float = 0.5
        flag: bool = False
        label: str = "a"
        sizes: tuple[int, ...] = (1,)
        mode: Literal["fast", "exact"] = "fast"

    p = Pipeline.parse('kinds{count=-3,ratio=2,flag=true,label="two words",sizes=[4, 5],'
                       'mode=exact}')
    assert p.passes[0] == Kinds(count=-3, ratio=2.0, flag=True, label="two words",
                                sizes=(4, 5), mode="exact")
    assert isinstance(p.passes[0].ratio, float)
    assert str(p) == 'kinds{count=-3,ratio=2.0,flag=true,label="two words",sizes=[4,5],' \
                     'mode=exact}'
    assert Pipeline.parse(str(p)) == p
    for text in ("kinds{ratio=inf}", "kinds{ratio=-1.5e-3}", "kinds{label=true-ish}",
                 "kinds{label=\"true\"}", "kinds{sizes=[]}", "kinds{label=file.txt}"):
        q = Pipeline.parse(text)
        assert Pipeline.parse(str(q)) == q, text
    assert Pipeline.parse('kinds{label="true"}').passes[0].label == "true"


# -- errors ----------------------------------------------------------------------------------
def test_unknown_pass_suggests_a_name():
    text = usage_error("fuse-bn,fuse-bnn")
    assert "unknown pass 'fuse-bnn' (column 9)" in text
    assert "did you mean 'fuse-bn'?" in text
    assert "did you mean 'equalize-weights'?" in usage_error("equalise-weights")
    assert "did you mean 'fold-constants'?" in usage_error("fold-constant")


def test_unknown_pass_with_options_is_reported_before_its_options():
    text = usage_error("fuse-bn,quantise{nbbits=8}")
    assert "unknown pass 'quantise'" in text and "did you mean 'quantize'?" in text


def test_unknown_option_suggests_a_name():
    text = usage_error("equalize-weights{max-iters=3}")
    assert "pass 'equalize-weights' has no option 'max-iters' (column 18)" in text
    assert "did you mean 'max-iter'?" in text
    assert "did you mean 'max-iter'?" in usage_error("equalize-weights{max_iter=3}")
    assert "pass 'fuse-bn' has no option 'x'" in usage_error("fuse-bn{x=1}")


@pytest.mark.parametrize("text,message", [
    ("equalize-weights{max-iter=abc}",
     "option 'max-iter' of pass 'equalize-weights' expects an integer, got 'abc'"),
    ("equalize-weights{max-iter=2.5}", "expects an integer, got 2.5"),
    ("equalize-weights{max-iter=true}", "expects an integer, got true"),
    ("equalize-weights{tolerance=[1, 2]}", "expects a number, got [1, 2]"),
    ("equalize-weights{absorb-bias=1}", "option 'absorb-bias' of pass 'equalize-weights' "
                                        "expects a boolean, got 1"),
    ("equalize-weights{clip=relu}", "expects one of per-channel | skip, got 'relu'"),
    ("equalize-weights{max-iter=0}", "option 'max-iter' of pass 'equalize-weights' must be "
                                     ">= 1, got 0"),
    ("equalize-weights{max-iter=1,max-iter=2}", "option 'max-iter' of pass 'equalize-weights' "
                                                "is given twice"),
])
def test_bad_option_values(text, message):
    assert message in usage_error(text)


@pytest.mark.parametrize("text,column,what", [
    ("fuse-bn,,dead-code", 9, "unexpected ','"),
    ("fuse-bn{", 9, "unexpected end of pipeline"),
    ("fuse-bn;dead-code", 8, "unexpected character ';'"),
    ("equalize-weights{max-iter 3}", 27, "unexpected '3'"),
    ("fuse-bn dead-code", 9, "unexpected 'dead-code'"),
])
def test_syntax_errors_give_the_column(text, column, what):
    message = usage_error(text)
    assert f"syntax error in pass pipeline at column {column}: {what}" in message
    # The caret sits under the offending column.
    lines = message.splitlines()
    assert lines[2].index("^") - lines[1].index(text) == column - 1


def test_pipeline_holds_passes_only():
    with pytest.raises(UsageError, match="a pipeline holds passes"):
        Pipeline(["fuse-bn"])


# -- running -----------------------------------------------------------------------------
def test_run_prints_ir_and_times_passes():
    graph = parse_graph(GRAPH)
    out = io.StringIO()
    report = Pipeline.parse("remove-dropout,fuse-activation,dead-code").run(
        graph, print_ir_after=["remove-dropout"], time_passes=True, out=out)
    text = out.getvalue()
    assert "// ----- IR after remove-dropout (pass 1 of 3) -----\ngraph @g" in text
    assert "IR after dead-code" not in text
    assert "pass execution timing" in text
    for name in ("remove-dropout", "fuse-activation", "dead-code", "total"):
        assert name in text
    assert report.result("remove-dropout").statistics == {"removed": 1}
    assert report.result("quantize") is None
    out = io.StringIO()
    Pipeline.parse("dead-code,dead-code").run(parse_graph(GRAPH), print_ir_after_all=True,
                                              out=out)
    assert out.getvalue().count("IR after dead-code") == 2


def test_print_ir_after_names_are_checked():
    pipeline = Pipeline.parse("dead-code")
    with pytest.raises(UsageError, match="did you mean 'fuse-bn'"):
        pipeline.run(parse_graph(GRAPH), print_ir_after=["fuse-bnn"])
    with pytest.raises(UsageError, match="'fuse-bn': it is not in the pipeline 'dead-code'"):
        pipeline.run(parse_graph(GRAPH), print_ir_after=["fuse-bn"])


def test_verify_each_names_the_pass_that_broke_the_graph(scratch_registry):
    @register_pass
    class BreakTypes(Pass):
        """Gives a result a wrong type."""

        name = "break-types"

        def apply(self, graph):
            graph.ops[-1].outputs[0].type = graph.ops[-1].outputs[0].type.with_shape((7,))

    pipeline = Pipeline.parse("remove-dropout,break-types,dead-code")
    with pytest.raises(VerificationError) as info:
        pipeline.run(parse_graph(GRAPH))
    assert "pass 'break-types' produced an invalid graph" in str(info.value)
    assert "--print-ir-after=break-types" in str(info.value)
    # Without verification the broken graph goes through.
    pipeline.run(parse_graph(GRAPH), verify_each=False)


def test_invalid_input_graph_is_reported_before_any_pass():
    graph = parse_graph(GRAPH)
    graph.outputs = []
    with pytest.raises(VerificationError, match="invalid before the pipeline ran"):
        Pipeline.parse("dead-code").run(graph)


def test_a_crashing_pass_is_named(scratch_registry):
    @register_pass
    class Crash(Pass):
        """Raises."""

        name = "crash"

        def apply(self, graph):
            return {}["missing"]

    with pytest.raises(InternalError, match="pass 'crash' crashed: KeyError"):
        Pipeline.parse("crash").run(parse_graph(GRAPH))


# -- registry ------------------------------------------------------------------------------
def test_describe_passes():
    described = {name: (description, options) for name, description, options in
                 describe_passes()}
    assert set(described) == set(pass_names()) >= {
        "dead-code", "equalize-weights", "fold-constants", "fuse-activation", "fuse-bn",
        "fuse-padding", "remove-dropout", "simplify-reshape"}
    assert all(description for description, _ in described.values())
    options = {o.name: o for o in described["equalize-weights"][1]}
    assert options["max-iter"].type == "integer" and options["max-iter"].default == 20
    assert options["absorb-bias"].default is False and options["absorb-bias"].help


@pytest.mark.parametrize("body,message", [
    ('name = "Bad_Name"', "a pass name is lowercase words joined by '-'"),
    ('name = "no-default"\n    x: int', "option 'x' of pass 'no-default'"),
    ('name = "bad-type"\n    x: dict = None', "has type <class 'dict'>"),
    ('name = "fuse-bn"', "pass name 'fuse-bn' is registered twice"),
])
def test_register_pass_checks_the_class(scratch_registry, body, message):
    namespace = {"Pass": Pass}
    exec(f"class P(Pass):\n    {body}\n", namespace)
    with pytest.raises(UsageError, match=message):
        register_pass(namespace["P"])


USER_MODULE = '''
from dataclasses import dataclass
from n2d2c.passes import Pass, PassResult, option, register_pass
from n2d2c.ir.ops import Relu


@register_pass
@dataclass(frozen=True)
class CountRelus(Pass):
    """Counts ReLUs."""

    name = "count-relus"
    scale: int = option(1, "multiplier")

    def apply(self, graph):
        return PassResult({"relus": self.scale * len(graph.ops_of(Relu))})
'''


def test_load_pass_module(scratch_registry, tmp_path):
    path = tmp_path / "mypasses.py"
    path.write_text(USER_MODULE)
    assert load_pass_module(path) == ["count-relus"]
    assert load_pass_module(str(path)) == ["count-relus"]  # a second load is a no-op
    report = Pipeline.parse("count-relus{scale=3}").run(parse_graph(GRAPH))
    assert report.result("count-relus").statistics == {"relus": 3}
    assert "count-relus" in [name for name, _, _ in describe_passes()]


@pytest.mark.parametrize("source,message", [
    ("def broken(:\n", "mod.py:1:"),
    ("x = 1\ny = 1 / 0\n", "mod.py:2: input error: importing pass module failed: "
                           "ZeroDivisionError"),
    ("x = 1\n", "registers no pass"),
    (USER_MODULE.replace("count-relus", "fuse-bn"), "pass name 'fuse-bn' is registered twice"),
])
def test_load_pass_module_errors(scratch_registry, tmp_path, source, message):
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent(source))
    before = pass_names()
    with pytest.raises(InputError) as info:
        load_pass_module(path)
    assert message in str(info.value)
    assert pass_names() == before  # nothing half-registered


def test_load_pass_module_missing_file(tmp_path):
    with pytest.raises(InputError, match="pass module '.*nope.py' does not exist"):
        load_pass_module(tmp_path / "nope.py")
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(InputError, match="is not a Python file"):
        load_pass_module(tmp_path / "data.txt")


def test_pass_result_changed():
    assert not PassResult().changed
    assert PassResult({"fused": 2}).changed
