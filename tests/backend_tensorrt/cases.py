"""Networks for the TensorRT tests: every op case of the C++ backend's tests, merged
into one network per family (tests/backend_cpp), minus the cases TensorRT refuses."""

from __future__ import annotations

from backend_cpp import logic_cases, test_indexing_ops, test_ops, test_reduce_ops
from backend_cpp.harness import import_case, merge_graphs

from n2d2c.backends.tensorrt import DEFAULT_PIPELINE
from n2d2c.passes import Pipeline

#: case name -> why the tensorrt backend refuses it (checked by test_refusals)
REFUSED_CASES = {
    "maxpool_dilation": "dilated pooling",
    "unpool_2x2": "max_pool2d_with_indices",
    "unpool_3x3_s2_pad_shape": "max_pool2d_with_indices",
    "gather_runtime_indices": "max_pool2d_with_indices",
    "cast_f32_int16_f32": "no i16 tensors",
}


def families() -> dict[str, list]:
    out: dict[str, list] = {}
    for module in (test_ops, test_indexing_ops, test_reduce_ops, logic_cases):
        out.update(module.CASES)
    return out


def prepared(case):
    graph = import_case(case)
    Pipeline.parse(DEFAULT_PIPELINE).run(graph)
    return graph


def family_graph(name: str, cases):
    """One network of every mapped case of a family."""
    parts = [(f"c{i}", import_case(c)) for i, c in enumerate(cases)
             if c.name not in REFUSED_CASES]
    graph = merge_graphs(parts, name)
    Pipeline.parse(DEFAULT_PIPELINE).run(graph)
    return graph
