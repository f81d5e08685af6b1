"""Ops the C backends do not lower: compiling them fails with an UnsupportedError
that names the op (and the node), before anything is written."""

from __future__ import annotations

import numpy as np
import pytest

import n2d2c
from n2d2c.errors import UnsupportedError
from n2d2c.ir import Graph, TensorType
from n2d2c.ir import ops as O

#: op name -> why the C backends refuse it (the "every op" tests skip these)
REFUSED = {
    "max_pool2d_with_indices": "max unpooling: no C kernel yet for the argmax indices",
    "max_unpool2d": "max unpooling: no C kernel yet for the scatter",
    "anchor_boxes": "Faster R-CNN: simulator only (test_network_detection.py checks the refusal)",
    "region_proposal": "Faster R-CNN: simulator only",
    "roi_pool": "Faster R-CNN: simulator only",
}


def _pool_unpool() -> Graph:
    g = Graph("unpool")
    x = g.add_input("x", TensorType((1, 2, 6, 6)))
    pool = g.add(O.MaxPool2dWithIndices(kernel=(2, 2), strides=(2, 2), name="pool"), [x])
    g.outputs = [g.add(O.MaxUnpool2d(kernel=(2, 2), strides=(2, 2), name="unpool"),
                       list(pool.outputs)).output]
    return g


def _unpool_only() -> Graph:
    g = Graph("unpool")
    x = g.add_input("x", TensorType((1, 2, 3, 3)))
    where = g.constant(np.arange(18, dtype=np.int64).reshape(1, 2, 3, 3) * 4, "where")
    g.outputs = [g.add(O.MaxUnpool2d(kernel=(2, 2), strides=(2, 2), name="unpool"),
                       [x, where]).output]
    return g


@pytest.mark.parametrize("build,op_name,node", [
    (_pool_unpool, "max_pool2d_with_indices", "pool"),
    (_unpool_only, "max_unpool2d", "unpool"),
], ids=["indices", "unpool"])
def test_cpp_backend_refuses_unpooling(tmp_path, build, op_name, node):
    with pytest.raises(UnsupportedError) as info:
        n2d2c.compile(build(), tmp_path / "out", backend="cpp")
    assert f"no C kernel for op '{op_name}'" in str(info.value)
    assert f"'{node}'" in str(info.value)
    assert not (tmp_path / "out").exists()
