"""Use-lists: each value knows its readers, the op list changes in O(1), and the
verifier notices an operand changed behind the graph's back."""

import time

import numpy as np
import pytest

from n2d2c.errors import VerificationError
from n2d2c.ir import Graph, TensorType, ops, parse_graph, print_graph, verify
from n2d2c.ir.op_list import OpList


def diamond():
    """x → relu a → (sigmoid b, tanh c) → add d, with a also an operand of d's add twice."""
    g = Graph()
    x = g.add_input("x", TensorType((1, 4)))
    a = g.add(ops.Relu(name="a"), [x]).output
    b = g.add(ops.Sigmoid(name="b"), [a]).output
    c = g.add(ops.Tanh(name="c"), [a]).output
    d = g.add(ops.Add(name="d"), [b, c]).output
    e = g.add(ops.Add(name="e"), [d, a]).output
    g.outputs = [e]
    return g


def test_users_are_in_graph_order_whatever_the_insertion_order():
    g = diamond()
    a = g.find_op("a").output
    early = g.add(ops.Relu(name="early"), [a], after=g.find_op("a"))
    assert [(op.name, i) for op, i in g.users(a)] == [("early", 0), ("b", 0), ("c", 0), ("e", 1)]
    g.erase(early)
    assert [op.name for op, _ in g.users(a)] == ["b", "c", "e"]
    verify(g)


def test_a_value_read_twice_by_one_op_has_two_uses():
    g = Graph()
    x = g.add_input("x", TensorType((2,)))
    m = g.add(ops.Mul(name="sq"), [x, x])
    g.outputs = [m.output]
    assert g.users(x) == [(m, 0), (m, 1)]
    y = g.add_input("y", TensorType((2,)))
    g.set_operand(m, 1, y)
    assert g.users(x) == [(m, 0)] and g.users(y) == [(m, 1)]
    verify(g)


def test_replace_all_uses_moves_every_use_and_the_outputs():
    g = diamond()
    x, a = g.inputs[0], g.find_op("a").output
    g.replace_all_uses(a, x)
    assert g.users(a) == []
    assert [(op.name, i) for op, i in g.users(x)] == [("a", 0), ("b", 0), ("c", 0), ("e", 1)]
    d = g.find_op("d").output
    g.replace_all_uses(g.find_op("e").output, d)
    assert g.outputs == [d]
    verify(g)


def test_erase_drops_the_ops_uses_of_its_operands():
    g = diamond()
    c = g.find_op("c")
    d = g.find_op("d")
    g.set_operand(d, 1, d.inputs[0])
    g.erase(c)
    assert [op.name for op, _ in g.users(g.find_op("a").output)] == ["b", "e"]
    with pytest.raises(VerificationError, match="not in this graph"):
        g.erase(c)
    verify(g)


def test_set_operand_appends_at_the_end_and_set_operands_replaces_all():
    g = Graph()
    x = g.add_input("x", TensorType((1, 2, 3, 3)))
    w = g.constant(np.ones((4, 2, 1, 1), np.float32), "w")
    conv = g.add(ops.Conv2d(name="conv"), [x, w])
    g.outputs = [conv.output]
    b = g.constant(np.zeros(4, np.float32), "b", before=conv)
    g.set_operand(conv, 2, b)
    assert conv.inputs == [x, w, b] and g.users(b) == [(conv, 2)]
    verify(g)
    g.set_operands(conv, [x, w])
    assert g.users(b) == []
    assert g.remove_dead_ops() == 1
    verify(g)


def test_remove_dead_ops_clears_their_uses_but_keeps_their_names():
    g = diamond()
    x = g.inputs[0]
    g.add(ops.Sigmoid(name="dead"), [x])
    assert g.remove_dead_ops() == 1
    assert [op.name for op, _ in g.users(x)] == ["a"]
    assert g.unique_name("dead") == "dead_1"
    verify(g)


def test_ops_is_a_snapshot():
    g = diamond()
    before = g.ops
    g.add(ops.Relu(name="late"), [g.inputs[0]])
    assert len(before) == 5 and len(g.ops) == 6 and isinstance(g.ops, tuple)
    assert g.find_op("late") in g and g.find_op("late") not in before


def test_verify_reports_an_operand_assigned_directly():
    g = diamond()
    d = g.find_op("d")
    d.inputs[1] = g.find_op("a").output  # behind the graph's back
    with pytest.raises(VerificationError, match="use-list.*Graph.set_operand"):
        verify(g)


def test_verify_reports_an_operand_missing_from_its_use_list():
    g = Graph()
    x = g.add_input("x", TensorType((1, 2)))
    cat = g.add(ops.Concat(axis=1, name="cat"), [x, x])
    g.outputs = [cat.output]
    cat.inputs.append(x)  # behind the graph's back
    cat.outputs[0].type = TensorType((1, 6))  # (so that the shape rule still holds)
    with pytest.raises(VerificationError, match="operand #2 %x is missing from its use-list"):
        verify(g)


def test_view_shares_ops_and_has_its_own_use_lists():
    g = diamond()
    b = g.find_op("b").output
    view = g.view([b])
    assert view.ops == g.ops and view.outputs == [b]
    verify(view)
    assert g.outputs != view.outputs


def test_take_contents():
    g = diamond()
    other = parse_graph(print_graph(g))
    other.metadata["from"] = "other"
    g.take_contents(other)
    assert g.metadata == {"from": "other"} and g.ops == other.ops
    verify(g)


def test_op_list_renumbers_when_a_gap_is_used_up():
    ops_ = [ops.Relu(name=str(i)) for i in range(3)]
    order = OpList(ops_[:2])
    anchor = ops_[1]
    inserted = []
    for i in range(80):  # 80 inserts into the same gap halve it 80 times
        op = ops.Relu(name=f"n{i}")
        order.insert_before(anchor, op)
        inserted.append(op)
    assert order.snapshot() == (ops_[0], *inserted, anchor)
    keys = [order.order_key(op) for op in order.snapshot()]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    order.insert_after(anchor, ops_[2])
    order.remove(inserted[3])
    assert order.snapshot()[-2:] == (anchor, ops_[2]) and inserted[3] not in order


def _chain(n):
    g = Graph()
    x = g.add_input("x", TensorType((1, 4)))
    for i in range(n):
        x = g.add(ops.Relu(name=f"r{i}"), [x]).output
    g.outputs = [x]
    return g


def _forward_every_relu(g):
    for op in g.ops:
        if not g.is_output(op.output):
            g.replace_op(op, [op.inputs[0]])


def test_rewriting_every_op_is_linear():
    # Forwarding every relu of a chain: 4x the ops must cost far less than 16x.
    times = []
    for n in (1000, 4000):
        g = _chain(n)
        t0 = time.perf_counter()
        _forward_every_relu(g)
        times.append(time.perf_counter() - t0)
    assert times[1] < 10 * times[0] + 0.05
