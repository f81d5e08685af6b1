"""The simulator on a CUDA GPU (cupy): equal to the CPU simulator, integers bit-exact.
Skipped, with the reason, where cupy or a GPU is missing (CI has none); the same
kernels run on numpy in test_array_kernels.py everywhere."""

from __future__ import annotations

import pytest

from n2d2c.errors import UnsupportedError
from n2d2c.runtime import Simulator

from .cases import op_cases, zoo_graphs
from .test_array_kernels import assert_same


@pytest.fixture(scope="module", autouse=True)
def gpu():
    try:
        from n2d2c.runtime.simulator import _open_device
        _open_device("gpu")
    except UnsupportedError as exc:
        pytest.skip(f"no GPU simulator here: {exc.message}")


def test_op_cases_on_the_gpu():
    for name, graph, feeds in op_cases():
        assert_same(Simulator(graph, device="gpu").run(feeds), Simulator(graph).run(feeds), name)


@pytest.mark.parametrize("batch", [1, 8])
def test_zoo_networks_on_the_gpu(batch):
    from n2d2c.passes import Pipeline
    for name, graph, feeds in zoo_graphs(batch):
        Pipeline.parse(f"set-batch{{size={batch}}}").run(graph)  # no-op when already N
        assert_same(Simulator(graph, device="gpu").run(feeds), Simulator(graph).run(feeds), name)
