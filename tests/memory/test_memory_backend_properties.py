"""Random networks through the C++ backend's memory model (hypothesis): every plan of
every strategy passes the independent checker (``PlannedBuffers`` runs it), plans
are deterministic, placements stay inside the arena and round-trip through the IR,
and only kernels with a checked access order share bytes.  Then a batch of random
networks is built and run in its arena filled with garbage."""

from __future__ import annotations

import numpy as np
import onnx
from hypothesis import given, settings
from hypothesis import strategies as st

from cpp_memory_kit import (POISONS, compile_build, ort_outputs, random_feeds,
                            require_compiler, run_poisoned)

from n2d2c.backends.c.memory import annotate_graph, plan_graph
from n2d2c.examples.onnx_builder import OnnxBuilder
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import parse_graph, print_graph
from n2d2c.passes.memory import STRATEGIES, MemoryOptions

SHARING_KERNELS = {"conv2d", "pool2d", "map", "depthwise_conv2d", "conv2d_direct"}


@st.composite
def networks(draw):
    size = draw(st.sampled_from([4, 6, 8]))
    b = OnnxBuilder("random", (1, draw(st.sampled_from([2, 4, 8])), size, size),
                    seed=draw(st.integers(0, 1000)))
    live = [b.input]
    for _ in range(draw(st.integers(1, 7))):
        x = draw(st.sampled_from(live))
        kind = draw(st.sampled_from(["conv", "dw", "pool", "relu", "add", "concat"]))
        if kind == "conv":
            k = draw(st.sampled_from([1, 3])) if _shape(b, x) >= 3 else 1
            y = b.conv(x, draw(st.sampled_from([4, 8, 12])), k,
                       stride=draw(st.sampled_from([1, 1, 2])),
                       pad=draw(st.sampled_from([0, k // 2])))
        elif kind == "dw":
            c = b.channels[x]
            y = b.conv(x, c, 3, stride=draw(st.sampled_from([1, 2])), group=c)
        elif kind == "pool":
            y = (b.maxpool if draw(st.booleans()) else b.avgpool)(x, 3, 1, pad=1)
        elif kind == "relu":
            y = b.relu(x)
        else:
            same = [v for v in live if v != x and b.channels[v] == b.channels[x]
                    and _shape(b, v) == _shape(b, x)]
            if kind == "add" and same:
                y = b.add(x, draw(st.sampled_from(same)))
            elif kind == "concat":
                spatial = [v for v in live if _shape(b, v) == _shape(b, x)]
                parts = draw(st.lists(st.sampled_from(spatial), min_size=1, max_size=3))
                y = b.concat([x, *parts]) if len(set([x, *parts])) == len([x, *parts]) \
                    else b.relu(x)
            else:
                y = b.relu(x)
        live.append(y)
    return b.model(live[-1])


def _shape(b: OnnxBuilder, name: str):
    """Spatial size of a tensor of the builder (tracked through its nodes)."""
    sizes = {b.input: b.input_shape[2]}
    for node in b.nodes:
        src = sizes.get(node.input[0], 0)
        attrs = {a.name: a for a in node.attribute}
        if node.op_type in ("Conv", "MaxPool", "AveragePool"):
            k = attrs["kernel_shape"].ints[0]
            s = attrs["strides"].ints[0]
            p = attrs["pads"].ints[0]
            sizes[node.output[0]] = (src + 2 * p - k) // s + 1
        else:
            sizes[node.output[0]] = src
    return sizes[name]


FAST = settings(max_examples=100, deadline=None)


@FAST
@given(networks(), st.sampled_from(STRATEGIES), st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([1, 4, 16]))
def test_backend_plans_are_checked_deterministic_and_round_trip(model, strategy, include,
                                                               buffer_opt, concat_opt, align):
    graph = load_onnx(model)
    options = MemoryOptions(IncludeInputInBuffer=include, OptimizeBufferMemory=buffer_opt,
                            OptimizeNoBranchConcat=concat_opt, MemoryAlignment=align,
                            MemoryManagerStrategy=strategy, exact_time_limit=1.0)
    memory = plan_graph(graph, options)   # PlannedBuffers.place ran check_plan
    again = plan_graph(load_onnx(model), options)
    assert memory.plan.offsets == again.plan.offsets
    assert memory.plan.arena_size >= memory.plan.lower_bound
    sizes = {b.name: b.size for b in memory.problem.buffers}
    for name, offset in memory.plan.offsets.items():
        assert offset % align == 0 and offset + sizes[name] <= memory.plan.arena_size
    # sharing only where a kernel's access order allows it
    e = memory.emitter
    producer = {v.storage.name: template for layer, items in e.prepared
                for call, (template, _) in zip(layer.calls, items) for v in call.writes.values()}
    scratch = {st.name for _, st in e._scratch}
    for s in memory.plan.shared:
        if s.kind in ("wrap", "inplace"):
            assert s.buffer in scratch or producer[s.buffer] in SHARING_KERNELS
            assert buffer_opt
    # the IR shows that plan, and reads back identically
    annotate_graph(graph, memory, fuse=True)
    text = print_graph(graph, inline_limit=0, resources=(resources := {}))
    assert print_graph(parse_graph(text, resources=resources), inline_limit=0,
                       resources={}) == text
    for v in graph.values():
        if v.placement is not None and v.placement.space == "arena":
            assert 0 <= v.placement.offset < max(memory.plan.arena_size, 1)


# -- the same kind of random networks, built and run --------------------------------------

def random_network(rng: np.random.Generator, index: int) -> onnx.ModelProto:
    """A random chain/DAG of convolutions (dense, 1x1, strided, depthwise), pooling, ReLU,
    residual additions and concatenations, with seeded weights."""
    size = int(rng.choice([5, 8, 11]))
    b = OnnxBuilder(f"net{index}", (1, int(rng.choice([3, 4, 8])), size, size),
                    seed=int(rng.integers(1000)), input_name=f"in{index}")
    live = [b.input]
    for _ in range(int(rng.integers(3, 9))):
        x = live[int(rng.integers(len(live)))] if rng.random() < 0.4 else live[-1]
        kind = rng.choice(["conv", "conv", "dw", "pool", "add", "concat"])
        if kind == "conv":
            k = int(rng.choice([1, 3])) if _shape(b, x) >= 3 else 1
            y = b.relu(b.conv(x, int(rng.choice([4, 8, 12, 20])), k,
                              stride=int(rng.choice([1, 1, 2])), pad=int(rng.choice([0, k // 2]))))
        elif kind == "dw":
            c = b.channels[x]
            y = b.conv(x, c, 3, stride=int(rng.choice([1, 2])), group=c)
        elif kind == "pool":
            y = (b.maxpool if rng.random() < 0.5 else b.avgpool)(x, 3, int(rng.choice([1, 2])),
                                                                 pad=1)
        else:
            same = [v for v in live if v != x and _shape(b, v) == _shape(b, x)]
            if kind == "add":
                same = [v for v in same if b.channels[v] == b.channels[x]]
            if not same:
                y = b.relu(x)
            elif kind == "add":
                y = b.add(x, same[int(rng.integers(len(same)))])
            else:
                y = b.concat([x, same[int(rng.integers(len(same)))]])
        live.append(y)
    model = b.model(live[-1])
    return onnx.compose.add_prefix(model, f"n{index}_", rename_inputs=False)


def merged(models) -> onnx.ModelProto:
    graph = onnx.helper.make_graph(
        [n for m in models for n in m.graph.node], "random_networks",
        [i for m in models for i in m.graph.input], [o for m in models for o in m.graph.output],
        [t for m in models for t in m.graph.initializer])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


def test_random_networks_run_in_their_planned_arena(tmp_path):
    """Eight random networks side by side in one program (one arena, planned exactly),
    built and run with garbage in the arena before every run."""
    require_compiler()
    rng = np.random.default_rng(2024)
    model = merged([random_network(rng, i) for i in range(8)])
    graph = load_onnx(model)
    options = MemoryOptions(MemoryManagerStrategy="exact", exact_time_limit=2.0)
    memory = plan_graph(graph, options)
    kinds = {s.kind for s in memory.plan.shared}
    assert {"wrap", "inplace"} <= kinds
    out = compile_build(graph, tmp_path / "random", memory=options)
    feeds = random_feeds(graph, seed=9)
    ref = ort_outputs(model, feeds)
    for poison in (None, *POISONS):
        for got, want in zip(run_poisoned(out, feeds, poison), ref):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=str(poison))
