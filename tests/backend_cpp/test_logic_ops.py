"""Comparisons, And/Or/Xor/Not, Where, Cast, Sign and ArgMax/ArgMin compiled to C++ (and to
C99), run, compared with onnxruntime: float graph IO, bool and integer tensors inside
(logic_cases.py).  The cases are merged into one network per target and built once."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.project import compile_to_dir

from .harness import (assert_close, build_batches, family_tests, import_case,
                      require_compiler, run_ort)
from .logic_cases import ALL, CASES, SIMULATOR_ONLY


cpp_outputs, c99_outputs, test_cpp_matches_onnxruntime, test_c99_matches_onnxruntime = \
    family_tests("logic_ops", {"all": ALL})


def test_bool_buffers_are_bytes(tmp_path):
    """A boolean tensor is a uint8_t buffer and the comparison writes 0 or 1 into it."""
    out = compile_to_dir(import_case(CASES["where"][0]), tmp_path / "w", stimuli=0)
    code = (out / "network.cpp").read_text()
    assert "(uint8_t)(" in code and "? " in code


@pytest.mark.parametrize("target", ["cpp", "c"])
def test_float16_casts_round_like_onnxruntime(tmp_path, target):
    """Casts through float16 (uint16_t bit patterns, backends/c/io_types.py) in C++ and C99."""
    require_compiler("c++" if target == "cpp" else "c")
    got = build_batches(tmp_path, {"f16": SIMULATOR_ONLY}, target=target)
    for case in SIMULATOR_ONLY:
        assert_close(case, got[case.name], run_ort(case.model, case.feeds))


def test_argmax_results_are_int64_indices():
    assert all(np.dtype(v.type.dtype.numpy) == np.int64 for case in CASES["arg"]
               for op in import_case(case).ops if op.OP_NAME.startswith("arg")
               for v in op.outputs)
