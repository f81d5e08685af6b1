"""Fuzz the ONNX loading path with mutated protobufs (issue: robustness).

Asserts: no exception other than N2D2CError subclasses, no hang beyond the
per-case timeout, no file written.  The tally per outcome is printed so the
benchmark report can record what ran.
"""

from __future__ import annotations

import collections
import time

import onnx
from fuzz_budget import CASE_TIMEOUT_S, FUZZ_CASES
from fuzz_support import run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx_mutations import mutate_bytes, mutate_model

from n2d2c.examples.lenet import lenet
from n2d2c.frontend import load_model
from n2d2c.ir import print_graph

BASE = lenet(seed=0)
BASE_BYTES = BASE.SerializeToString()
TALLY: collections.Counter = collections.Counter()


def _load_and_print(path):
    graph = load_model(path)
    print_graph(graph, resources={})


def _fuzz_settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@given(data=st.data())
@_fuzz_settings(FUZZ_CASES // 2)
def test_byte_mutations(tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp() / "fuzz_bytes"
    folder.mkdir(exist_ok=True)
    path = folder / "m.onnx"
    path.write_bytes(mutate_bytes(BASE_BYTES, data.draw))
    TALLY[run_case(lambda: _load_and_print(path), seconds=CASE_TIMEOUT_S, watch=folder)] += 1


@given(data=st.data())
@_fuzz_settings(FUZZ_CASES - FUZZ_CASES // 2)
def test_structural_mutations(tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp() / "fuzz_struct"
    folder.mkdir(exist_ok=True)
    path = folder / "m.onnx"
    path.write_bytes(mutate_model(BASE, data.draw).SerializeToString())
    TALLY[run_case(lambda: _load_and_print(path), seconds=CASE_TIMEOUT_S, watch=folder)] += 1


def test_report_tally(capsys):
    # Runs after the two fuzzers in file order; prints what they saw.
    with capsys.disabled():
        print(f"\nONNX fuzz outcomes: {dict(sorted(TALLY.items()))}")
