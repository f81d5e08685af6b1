"""The ``plan-memory`` pass: Before/After on textual IR, options (pipeline and N2D2
params file), and the backend using exactly the plan the IR shows."""

from __future__ import annotations

import json

import pytest

from n2d2c.backends.cpp import compile_to_dir
from n2d2c.errors import UsageError
from n2d2c.ir import parse_graph, print_graph
from n2d2c.passes import Pipeline, pass_names
from n2d2c.passes.memory import MemoryOptions

_W = ", ".join(["0.5"] * 18)
BEFORE = f"""\
graph @tiny(%x: tensor<1x2x4x4xf32>) {{
  %w = constant dense<[{_W}]> : tensor<2x1x3x3xf32>
  %dw = conv2d(%x, %w) {{pads = [1, 1, 1, 1], group = 2}} : tensor<1x2x4x4xf32>
  %act = relu(%dw) : tensor<1x2x4x4xf32>
  %sum = add(%act, %x) : tensor<1x2x4x4xf32>
  %pool = max_pool2d(%sum) {{kernel = [2, 2], strides = [2, 2]}} : tensor<1x2x2x2xf32>
  %mean = avg_pool2d(%sum) {{kernel = [2, 2], strides = [2, 2]}} : tensor<1x2x2x2xf32>
  %cat = concat(%pool, %mean) : tensor<1x4x2x2xf32>
  return %cat
}}
"""

# The pass plans what the backend lowers, the canonical form (passes/canonical.py): the
# ReLU becomes the depthwise convolution's activation, so %act is gone and %dw is stored
# after it.  %dw cannot wrap %x (the add still reads %x); %sum overwrites %dw in place; %pool and
# %mean are written into their slices of %cat (NHWC, 4 channels: strides [0, 1, 8, 4]),
# which reuses the bytes of %x once the add has read it.
AFTER = f"""\
graph @tiny(%x: tensor<1x2x4x4xf32> @arena(128, [0, 1, 8, 2])) memory {{target = "cpp", \
arena_bytes = 256, lower_bound = 256, alignment = 4, strategy = "exact", \
chosen = "OptimizeMaxLifetimeMinSizeFirst", include_input_in_buffer = true, \
optimize_buffer_memory = true, optimize_no_branch_concat = true, memory_alignment = 1, \
exact_time_limit = 10.0, fuse = true}} {{
  %w = constant dense<[{_W}]> : tensor<2x1x3x3xf32>
  %dw = conv2d(%x, %w) {{pads = [1, 1, 1, 1], group = 2, activation = "relu"}} : \
tensor<1x2x4x4xf32> @arena(0, [0, 1, 8, 2])
  %sum = add(%dw, %x) : tensor<1x2x4x4xf32> @arena(0, [0, 1, 8, 2])
  %pool = max_pool2d(%sum) {{kernel = [2, 2], strides = [2, 2]}} : tensor<1x2x2x2xf32> \
@arena(128, [0, 1, 8, 4])
  %mean = avg_pool2d(%sum) {{kernel = [2, 2], strides = [2, 2]}} : tensor<1x2x2x2xf32> \
@arena(136, [0, 1, 8, 4])
  %cat = concat(%pool, %mean) : tensor<1x4x2x2xf32> @arena(128, [0, 1, 8, 4])
  return %cat
}}
"""


def planned(pipeline: str = "plan-memory{MemoryManagerStrategy=exact}"):
    graph = parse_graph(BEFORE)
    Pipeline.parse(pipeline).run(graph, verify_each=True)
    return graph


def test_before_after():
    assert "plan-memory" in pass_names()
    assert print_graph(planned(), inline_limit=None) == AFTER


def test_placements_round_trip_exactly():
    text = print_graph(planned(), inline_limit=None)
    again = parse_graph(text)
    assert print_graph(again, inline_limit=None) == text
    assert again.memory_plan["arena_bytes"] == 256
    assert {v.name: v.placement for v in again.values()}["cat"].strides == (0, 1, 8, 4)


def test_plan_without_optimisations_has_no_shared_bytes():
    graph = planned("plan-memory{OptimizeBufferMemory=false,OptimizeNoBranchConcat=false,"
                    "MemoryManagerStrategy=exact}")
    values = {v.name: v.placement for v in graph.values()}
    assert values["sum"].offset != values["dw"].offset
    assert values["pool"].offset not in (values["cat"].offset,)
    assert graph.memory_plan["arena_bytes"] > 256


def test_params_file_then_pipeline_options(tmp_path):
    params = tmp_path / "params.ini"
    params.write_text("MemoryManagerStrategy=exact\nMemoryAlignment=8\nIncludeInputInBuffer=0\n"
                      "NbBits=8\n")  # other export keys are ignored
    graph = planned(f'plan-memory{{params="{params}",MemoryAlignment=32}}')
    summary = graph.memory_plan
    assert summary["strategy"] == "exact" and summary["memory_alignment"] == 32
    assert summary["alignment"] == 32 and not summary["include_input_in_buffer"]
    x = graph.inputs[0].placement
    assert x.space == "external" and x.offset == 0
    for v in graph.values():
        if v.placement is not None and v.placement.space == "arena":
            assert v.placement.offset % 32 == 0 or v.name in ("mean",)  # a slice of %cat


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError, match="MemoryManagerStrategy"):
        Pipeline.parse("plan-memory{MemoryManagerStrategy=fastest}")
    with pytest.raises(UsageError, match="MemoryAlignment"):
        Pipeline.parse("plan-memory{MemoryAlignment=0}")


def test_backend_uses_the_plan_of_the_ir(tmp_path):
    graph = planned()
    out = compile_to_dir(graph, tmp_path / "p", stimuli=0)
    manifest = json.loads((out / "network.json").read_text())
    memory = manifest["memory"]
    # options came from the IR (strategy exact), and the placements were checked
    assert memory["strategy"] == "exact" and memory["ir_placements"] == "verified identical"
    assert manifest["arena_bytes"] == graph.memory_plan["arena_bytes"]
    # the same through a file: print, parse, compile
    text = print_graph(graph, inline_limit=None)
    out = compile_to_dir(parse_graph(text), tmp_path / "q", stimuli=0)
    assert json.loads((out / "network.json").read_text())["arena_bytes"] == 256


def test_stale_placements_are_refused(tmp_path):
    text = print_graph(planned(), inline_limit=None)
    graph = parse_graph(text.replace("@arena(136,", "@arena(144,"))  # edited after planning
    with pytest.raises(UsageError, match="placements in the IR are not the plan"):
        compile_to_dir(graph, tmp_path / "stale", stimuli=0)
    graph = planned()
    with pytest.raises(UsageError, match="not the plan"):  # other options than the IR's
        compile_to_dir(graph, tmp_path / "other", stimuli=0,
                       memory=MemoryOptions(OptimizeNoBranchConcat=False))
    assert not (tmp_path / "stale").exists() and not (tmp_path / "other").exists()
