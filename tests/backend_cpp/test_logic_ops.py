"""Comparisons, And/Or/Xor/Not, Where, Cast, Sign and ArgMax/ArgMin compiled to C++ (and to
C99), run, compared with onnxruntime: float graph IO, bool and integer tensors inside
(logic_cases.py).  The cases are merged into one network per target and built once."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.errors import UnsupportedError

from .harness import family_tests, import_case
from .logic_cases import ALL, CASES, SIMULATOR_ONLY


cpp_outputs, c99_outputs, test_cpp_matches_onnxruntime, test_c99_matches_onnxruntime = \
    family_tests("logic_ops", {"all": ALL})


def test_bool_buffers_are_bytes(tmp_path):
    """A boolean tensor is a uint8_t buffer and the comparison writes 0 or 1 into it."""
    out = compile_to_dir(import_case(CASES["where"][0]), tmp_path / "w", stimuli=0)
    code = (out / "network.cpp").read_text()
    assert "(uint8_t)(" in code and "? " in code


@pytest.mark.parametrize("case", SIMULATOR_ONLY, ids=[c.name for c in SIMULATOR_ONLY])
def test_float16_cast_is_refused_with_the_value_named(tmp_path, case):
    with pytest.raises(UnsupportedError, match="f16"):
        compile_to_dir(import_case(case), tmp_path / "h", stimuli=0)


def test_argmax_results_are_int64_indices():
    assert all(np.dtype(v.type.dtype.numpy) == np.int64 for case in CASES["arg"]
               for op in import_case(case).ops if op.OP_NAME.startswith("arg")
               for v in op.outputs)
