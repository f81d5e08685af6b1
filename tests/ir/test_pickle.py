"""Graphs travel to Dask workers by pickle: the copy must be a working graph, not
just one that prints the same (its op list and use-lists are keyed by object ids)."""

from __future__ import annotations

import pickle

import n2d2c
from n2d2c.ir import parse_graph, print_graph
from n2d2c.ir.verify import verify
from n2d2c.passes import Pipeline

TEXT = """graph @g(%x: tensor<1x2xf32>) {
  %drop = dropout(%x) : tensor<1x2xf32>
  %y = relu(%drop) : tensor<1x2xf32>
  %unused = relu(%x) : tensor<1x2xf32>
  return %y
}"""


def test_an_unpickled_graph_rewrites_like_the_original():
    original = parse_graph(TEXT)
    copy = pickle.loads(pickle.dumps(original))
    verify(copy)
    assert print_graph(copy) == print_graph(original)
    # Rewriting needs the use-lists and the op list keyed by the copy's own objects.
    for graph in (original, copy):
        Pipeline.parse("remove-dropout,dead-code").run(graph)
        verify(graph)
    assert print_graph(copy) == print_graph(original)
    assert "dropout" not in print_graph(copy) and "unused" not in print_graph(copy)


def test_quantizing_an_unpickled_model_leaves_it_valid(tmp_path):
    import numpy as np

    from n2d2c.examples.lenet import lenet
    path = tmp_path / "lenet.onnx"
    path.write_bytes(lenet().SerializeToString())
    graph = pickle.loads(pickle.dumps(n2d2c.load(path)))
    from n2d2c.quantization import quantize_graph
    x = np.random.default_rng(0).standard_normal((4, *graph.inputs[0].shape[1:]), np.float32)
    quantize_graph(graph, {"x": x})
    verify(graph)
