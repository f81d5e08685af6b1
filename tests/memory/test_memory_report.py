"""Log, PNG and summary outputs."""

import pytest

from n2d2c.passes.memory import (Buffer, ConvWrap, MemoryOptions, MemoryProblem,
                                 format_mapping_log, memory_summary, plan_memory,
                                 write_memory_reports)


def small_net() -> MemoryProblem:
    wrap = ConvWrap("in", 4, 4, 8, 8, 3, 1, 1)
    return MemoryProblem((
        Buffer("in", 32, -1, 0), Buffer("conv", 32, 0, 1, wrap=wrap),
        Buffer("relu", 32, 1, 3, inplace_of="conv", concat_into=("cat", 0)),
        Buffer("side", 16, 2, 3, concat_into=("cat", 32)), Buffer("cat", 48, 3, 4)))


def test_log_lists_every_buffer_and_totals():
    problem = small_net()
    plan = plan_memory(problem)
    text = format_mapping_log(problem, plan)
    for b in problem.buffers:
        assert f"[{b.start}, {b.end}]" in text and b.name in text
    assert f"arena_size: {plan.arena_size}" in text
    assert f"lower_bound: {plan.lower_bound}" in text
    assert "ratio: " in text and "inplace conv" in text and "concat cat +32" in text


def test_external_input_is_logged():
    problem = small_net()
    plan = plan_memory(problem, MemoryOptions(IncludeInputInBuffer=False))
    assert "external" in format_mapping_log(problem, plan)


def test_summary_measures_each_optimisation():
    problem = small_net()
    plan = plan_memory(problem, strategy="exact", time_limit=2)
    summary = memory_summary(problem, plan)
    assert summary["arena_bytes"] == plan.arena_size
    assert summary["lower_bound"] == plan.lower_bound
    saved = summary["saved_bytes"]
    assert set(saved) == {"reuse", "OptimizeBufferMemory", "OptimizeNoBranchConcat",
                          "IncludeInputInBuffer"}
    assert saved["reuse"] > 0 and saved["OptimizeBufferMemory"] > 0
    assert saved["OptimizeNoBranchConcat"] > 0


def test_reports_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    problem = small_net()
    plan = plan_memory(problem)
    paths = write_memory_reports(problem, plan, tmp_path / "out")
    assert paths["log"].name == "memory_mapping.log"
    assert paths["log"].read_text() == format_mapping_log(problem, plan)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
