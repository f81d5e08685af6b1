"""ONNX conformance: onnx's node tests and shipped small models through n2d2c."""

from __future__ import annotations

import pytest

from n2d2c.errors import UnsupportedError
from n2d2c.frontend.onnx import SUPPORTED_OPS, load_onnx

from .conformance import EXCLUDED, in_scope, node_cases, run_model_dirs, run_node_cases
from .harness import simulator


@pytest.fixture(scope="module")
def cases():
    return node_cases()


def _check(report, title):
    print("\n" + report.summary(title) + ("" if simulator() else " (shapes only: no simulator)"))
    assert not report.failures, report.summary(title) + "\n" + "\n".join(
        f"  {name}: {message}" for name, message in report.failures.items())


def test_node_conformance(cases):
    report = run_node_cases(cases)
    _check(report, "ONNX node tests")
    # Guard against the suite silently shrinking (a registry import gone wrong ...).
    assert report.counts()["passed"] >= 800


def test_model_folders():
    report = run_model_dirs()
    _check(report, "ONNX model folders")
    assert report.counts()["passed"] >= 100


def test_exclusions_are_live(cases):
    """Every excluded case still exists and is in scope (else drop the entry)."""
    names = {c.name for c in cases if in_scope(c.model)}
    assert set(EXCLUDED) <= names


def test_out_of_scope_cases_fail_cleanly(cases):
    """Every other node test raises one UnsupportedError naming its ops, never a crash."""
    seen = 0
    for case in cases:
        if in_scope(case.model):
            continue
        seen += 1
        with pytest.raises(UnsupportedError) as info:
            load_onnx(case.model)
        unsupported = {n.op_type for n in case.model.graph.node} - set(SUPPORTED_OPS)
        for op in unsupported:
            assert op in info.value.message, (case.name, info.value.message)
    assert seen > 500
