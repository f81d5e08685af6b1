"""Shared checks for the ONNX frontend tests: simulate, compare, round-trip."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from n2d2c.frontend.onnx import STATIC_INPUTS
from n2d2c.frontend.onnx.io_types import ELEMENT_TYPES
from n2d2c.ir import Graph, parse_graph, print_graph, verify

RTOL = 1e-4
ATOL = 1e-5
# n2d2c computes a float16 model in float32 and rounds once at the output, while the
# references round after every op: a few float16 ulps (2**-10 relative) apart.
FLOAT16_TOL = 4e-3


def simulator():
    """``n2d2c.runtime.simulate`` or None while the simulator is not there yet."""
    try:
        from n2d2c.runtime import simulate
    except ImportError:
        return None
    return simulate


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # no warnings about unused initializers
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def random_feeds(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {v.name: rng.uniform(-1, 1, v.shape).astype(np.float32) for v in graph.inputs}


def check_outputs(graph: Graph, feeds: dict[str, np.ndarray], expected, *,
                  rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """Simulate ``graph`` (if a simulator exists) and compare with ``expected``
    (a list in graph-output order).  Without a simulator only shapes and dtypes
    are compared.  Returns a description of the first mismatch, or None."""
    expected = [np.asarray(e) for e in expected]
    if len(expected) != len(graph.outputs):
        return f"{len(graph.outputs)} outputs, expected {len(expected)}"
    for value, want in zip(graph.outputs, expected):
        if value.shape != want.shape or value.type.dtype.numpy != want.dtype:
            return f"output {value.name}: {value.type} but expected {want.dtype}{list(want.shape)}"
    simulate = simulator()
    if simulate is None:
        return None
    got = simulate(graph, feeds)
    names = [v.name for v in graph.outputs]
    if list(got) != names:
        return f"simulator returned outputs {list(got)}, graph has {names}"
    for name, want in zip(names, expected):
        have = np.asarray(got[name])
        if have.shape != want.shape:
            return f"output {name}: shape {have.shape}, expected {want.shape}"
        if have.dtype != want.dtype:
            return f"output {name}: simulator returned {have.dtype}, expected {want.dtype}"
        if want.dtype.kind in "biu":  # integers and booleans: exactly
            if not np.array_equal(have, want):
                wrong = int(np.count_nonzero(have != want))
                return f"output {name}: {wrong} of {want.size} elements differ"
            continue
        if want.dtype == np.float16:
            rtol, atol = max(rtol, FLOAT16_TOL), max(atol, FLOAT16_TOL)
        if not np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True):
            err = np.abs(have.astype(np.float64) - want)
            return (f"output {name}: max abs error {np.nanmax(err):.3g} "
                    f"(rtol {rtol}, atol {atol})")
    return None


def roundtrip_text(graph: Graph) -> None:
    """print (large constants to a resource table) -> parse -> print gives the same text."""
    resources: dict[str, np.ndarray] = {}
    text = print_graph(graph, resources=resources)
    # Through .npz bytes, like the CLI's side file, so dtypes survive a real save.
    buffer = io.BytesIO()
    np.savez(buffer, **resources)
    buffer.seek(0)
    with np.load(buffer) as npz:
        loaded = {k: npz[k] for k in npz.files}
    again = parse_graph(text, resources=loaded)
    verify(again)
    assert print_graph(again, resources={}) == text


def static_graph_inputs(model: onnx.ModelProto) -> set[str]:
    """Graph inputs read at a position n2d2c needs at compile time (STATIC_INPUTS)."""
    graph = model.graph
    read = {node.input[i] for node in graph.node
            for i in STATIC_INPUTS.get(node.op_type, ()) if i < len(node.input)}
    return read & {vi.name for vi in graph.input}


def bake_static_inputs(model: onnx.ModelProto, inputs) -> tuple[onnx.ModelProto, dict]:
    """Turn graph inputs that feed shape-like positions (Reshape's shape, Resize's
    scales, ...) into initializers holding the test's values: n2d2c needs those
    at compile time.  Returns the new model and the feeds of the other inputs."""
    model_copy = onnx.ModelProto()
    model_copy.CopyFrom(model)
    graph = model_copy.graph
    static = static_graph_inputs(model_copy)
    feeds, keep = {}, []
    for vi, value in zip(list(graph.input), inputs):
        if vi.name in static:
            graph.initializer.append(numpy_helper.from_array(np.asarray(value), vi.name))
        else:
            keep.append(vi)
            feeds[vi.name] = value
    del graph.input[:]
    graph.input.extend(keep)
    return model_copy, feeds


def graph_io(model: onnx.ModelProto) -> list:
    """The value infos of the graph's run-time inputs and its outputs."""
    init = {t.name for t in model.graph.initializer}
    return [vi for vi in [*model.graph.input, *model.graph.output] if vi.name not in init]


def refused_io_type(model: onnx.ModelProto) -> str | None:
    """The type of the first graph input/output n2d2c refuses (float64, uint32, bfloat16,
    float8, strings, sequences ...: anything outside io_types.ELEMENT_TYPES), else None."""
    for vi in graph_io(model):
        if vi.type.WhichOneof("value") != "tensor_type":
            return vi.type.WhichOneof("value") or "untyped"
        elem = vi.type.tensor_type.elem_type
        if elem not in ELEMENT_TYPES and not (elem == onnx.TensorProto.UNDEFINED
                                              and vi in model.graph.output):
            return onnx.TensorProto.DataType.Name(elem)
    return None


def has_non_float_io(model: onnx.ModelProto) -> bool:
    """A graph input or output that is not a float32 tensor."""
    return any(vi.type.WhichOneof("value") != "tensor_type"
               or vi.type.tensor_type.elem_type != onnx.TensorProto.FLOAT
               for vi in graph_io(model))
