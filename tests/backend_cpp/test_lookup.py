"""Quantized networks whose activations are tables (ir/ops/lookup.py) in generated C++
and C99: bit for bit the integer simulator's, every integer observed through an exact
``dequantize {scale = 1}`` output; also a lookup on a graph input, i8 and u8."""

from __future__ import annotations

import numpy as np
import pytest

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, run_inputs
from n2d2c.ir import DType, Graph, TensorType
from n2d2c.ir import ops as O
from n2d2c.runtime import simulate
from quantization.test_lookup import ACTIVATIONS, quantized_network

from .harness import merge_graphs, require_compiler


def _observed(graph: Graph) -> Graph:
    for op in list(graph.ops):
        if not isinstance(op, O.Constant) and op.output.type.dtype.is_integer:
            graph.outputs.append(graph.add(O.Dequantize(name=f"{op.name}.observe", scale=1.0),
                                           [op.output]).output)
    return graph


def _input_tables() -> Graph:
    """Lookups straight on i8 and u8 inputs quantized from floats (every level reached)."""
    g = Graph("tables")
    x = g.add_input("x", TensorType((2, 256)))
    for dtype, table in (("i8", np.arange(255, -1, -1, dtype=np.uint8)),
                         ("u8", (np.arange(256) - 100).clip(-128, 127).astype(np.int8))):
        q = g.add(O.Quantize(name=f"q_{dtype}", scale=1.0, dtype=dtype), [x]).output
        t = g.constant(table, f"t_{dtype}")
        g.outputs.append(g.add(O.Lookup(name=f"lut_{dtype}", function="test"), [q, t]).output)
    g.outputs = [g.add(O.Dequantize(name=f"{v.name}.dq", scale=1.0), [v]).output
                 for v in g.outputs]
    return g


@pytest.mark.parametrize("target", ["cpp", "c"])
def test_table_networks_match_the_simulator(tmp_path, target):
    require_compiler("c++" if target == "cpp" else "c")
    parts, feeds = [], {}
    for name in sorted(ACTIVATIONS):
        _, qgraph, _, data = quantized_network(name)
        parts.append((name, _observed(qgraph)))
        feeds[f"{name}.input"] = data[:1]
    tables = _input_tables()
    parts.append(("tables", tables))
    feeds["tables.x"] = np.stack([np.arange(-128, 128), np.arange(0, 256)]).astype(np.float32)
    merged = merge_graphs(parts, "lookups")
    assert len(merged.ops_of(O.Lookup)) == 5
    assert {v.type.dtype for op in merged.ops_of(O.Lookup) for v in op.inputs[:1]} \
        == {DType.I8, DType.U8}
    out = compile_to_dir(merged, tmp_path / target, target=target, stimuli=0)
    build(out, opt="-O1")
    got = run_inputs(out, feeds)
    want = simulate(merged, feeds)
    assert len(got) == len(merged.outputs)
    for v, array in zip(merged.outputs, got.values()):
        np.testing.assert_array_equal(array, want[v.name], err_msg=f"%{v.name}")
    # The input tables themselves: table[x - dtype_min] for every level.
    i8 = want["tables.lut_i8.dq"]
    np.testing.assert_array_equal(i8[0], np.arange(255, -1, -1))   # x = -128..127
    np.testing.assert_array_equal(want["tables.lut_u8.dq"][1], (np.arange(256) - 100).clip(-128, 127))
