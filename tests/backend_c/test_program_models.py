"""The verifier accepts what the lowering and the memory planner make of whole networks:
the models of the C++ model tests (tests/backend_cpp/test_models.py), every op case of
tests/backend_cpp/test_ops.py, the integer convolutions of test_integer_kernels.py and
the quantized networks of test_quantized.py, lowered with and without
in-place concatenation and placed by the planner.  Nothing is compiled."""

from __future__ import annotations

import pytest

from backend_cpp.test_models import CASES as MODEL_CASES
from n2d2c.backends.c.memory import plan_graph
from n2d2c.backends.c.program_verify import verify_program
from n2d2c.frontend.onnx import load_onnx
from n2d2c.passes.memory import MemoryOptions


def verify_lowered(graph) -> None:
    for in_place in (False, True):
        memory = plan_graph(graph, MemoryOptions(OptimizeNoBranchConcat=in_place))
        emitter = memory.emitter
        verify_program(emitter.program, emitter.placement)
        assert str(emitter.program)   # and it prints


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_model_programs_verify(name):
    verify_lowered(load_onnx(MODEL_CASES[name].model))


def test_op_case_programs_verify():
    from backend_cpp.test_ops import ALL
    for _, case in ALL:
        verify_lowered(case.graph if case.graph is not None else load_onnx(case.model))


def test_integer_kernel_programs_verify():
    from backend_cpp.test_integer_kernels import CASES
    for graph, _ in CASES.values():
        verify_lowered(graph)


def test_quantized_programs_verify():
    pytest.importorskip("n2d2c.quantization")
    from backend_cpp.test_quantized import CASES
    for case in CASES:
        verify_lowered(case.graph)
