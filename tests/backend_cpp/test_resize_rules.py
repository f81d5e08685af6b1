"""The Resize coordinate rule (n2d2c/ir/ops/resize_rules.py) at its boundaries,
``half_pixel_symmetric`` above all: the generated C++ and the simulator, both
against onnxruntime.

The C++ tables once computed ``half_pixel_symmetric`` in float32 only, while the
simulator (and onnxruntime) end it in double: the "old rule differs" cases are
ones where that changed a nearest index.
"""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.runtime import simulate

from .harness import (C, X, assert_close, build_batches, import_case, node_case, rand,
                      require_compiler, run_ort, shared)

SYM = "half_pixel_symmetric"


def f32(*v):
    return np.array(v, np.float32)


def _resize(name, x_shape, *, scales=None, sizes=None, **attrs):
    x = X(rand(*x_shape, name=name))
    if sizes is not None:
        inputs = [x, "", "", C(np.array(sizes, np.int64))]
    else:
        inputs = [x, "", C(f32(*scales))]
    return node_case(name, "Resize", inputs, opset=19, coordinate_transformation_mode=SYM,
                     **attrs)


# (name, input shape, scales or sizes)
SHAPES = [
    ("w_only_x2", (1, 2, 3, 4), dict(scales=(1, 1, 1, 2))),      # H at scale 1: untouched
    ("up_x3", (1, 1, 2, 3), dict(scales=(1, 1, 3, 3))),
    ("down_half", (1, 1, 6, 8), dict(scales=(1, 1, 0.5, 0.5))),
    ("down_third", (1, 1, 9, 6), dict(scales=(1, 1, 1 / 3, 1 / 3))),
    ("not_multiple", (1, 1, 5, 7), dict(scales=(1, 1, 1.5, 0.6))),   # 5 -> 7, 7 -> 4
    ("sizes_5_to_8", (1, 1, 5, 5), dict(sizes=(1, 1, 8, 3))),
    ("one_pixel", (1, 1, 4, 5), dict(scales=(1, 1, 0.3, 0.25))),     # a single output pixel
]
# Nearest cases where the old float32-only C rule picked another pixel than ORT.
OLD_RULE_DIFFERS = [
    ("old_5_to_3_floor", (1, 1, 2, 5), dict(scales=(1, 1, 1, 0.6)), "floor"),
    ("old_5_to_12_ceil", (1, 1, 2, 5), dict(scales=(1, 1, 1, 2.5)), "ceil"),
    ("old_3_to_11_floor", (1, 1, 2, 3), dict(scales=(1, 1, 1, 11 / 3)), "floor"),
]


def _cases():
    cases = []
    for name, shape, where in SHAPES:
        cases.append(_resize(f"{name}_linear", shape, mode="linear", **where))
        for nearest in ("round_prefer_ceil", "floor", "ceil"):
            cases.append(_resize(f"{name}_{nearest}", shape, mode="nearest",
                                 nearest_mode=nearest, **where))
    for name, shape, where, nearest in OLD_RULE_DIFFERS:
        cases.append(_resize(name, shape, mode="nearest", nearest_mode=nearest, **where))
    return cases


CASES = _cases()
IDS = [c.name for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_simulator_matches_onnxruntime(case):
    graph = import_case(case)
    got = simulate(graph, case.feeds)
    assert_close(case, [got[v.name] for v in graph.outputs], run_ort(case.model, case.feeds))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    require_compiler()
    return shared(tmp_path_factory, "resize_rules",
                  lambda root: build_batches(root, {"resize_rules": CASES}))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cpp_matches_onnxruntime(outputs, case):
    assert_close(case, outputs[case.name], run_ort(case.model, case.feeds))
