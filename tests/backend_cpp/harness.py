"""Helpers for the cpp backend tests: ONNX cases, graph batching, shared builds, ORT references.

Compiling C++ dominates the run time, so many one-op graphs are merged into one
network per build, the builds run two at a time, and under pytest-xdist the
first worker to need a build does it while the others wait on a file lock and
reuse the result.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, compiler, run_inputs
from n2d2c.frontend.onnx import load_onnx
from n2d2c.ir import Graph
from frontend_onnx.single_node import C, X  # noqa: F401 (re-exported to the test modules)
from support import require_tool


RTOL, ATOL = 1e-4, 1e-5
# -O1 keeps the builds short; the benchmark and one model test use -O2/-O3.
TEST_OPT = "-O1"


def cpu_has(flag: str) -> bool:
    """Whether this CPU reports ``flag`` (e.g. "avx2", "avx512_vnni") in /proc/cpuinfo."""
    try:
        return flag in open("/proc/cpuinfo").read().split()
    except OSError:
        return False


def require_compiler(language: str = "c++") -> None:
    if compiler(language) is None:
        require_tool("g++" if language == "c++" else "cc")


# -- ONNX cases ------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    model: onnx.ModelProto
    feeds: dict[str, np.ndarray]
    rtol: float = RTOL
    atol: float = ATOL
    graph: Graph | None = field(default=None, repr=False)


def rand(*shape, name: str = "", low: float = -2.0, high: float = 2.0) -> np.ndarray:
    """Uniform values, seeded by the shape and ``name`` so every run sees the same data."""
    seed = zlib.crc32(f"{name}{shape}".encode())
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def finish_model(nodes, inputs, outputs, inits, name: str, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs,
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                               for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    if not all(o.type.tensor_type.HasField("shape") for o in model.graph.output):
        # Shape inference gave up (e.g. Slice): take the shapes from a run of onnxruntime.
        zeros = {i.name: np.zeros([d.dim_value for d in i.type.tensor_type.shape.dim], np.float32)
                 for i in inputs}
        results = run_ort(model, zeros)
        for out, array in zip(model.graph.output, results):
            out.CopyFrom(helper.make_tensor_value_info(out.name, TensorProto.FLOAT, array.shape))
    onnx.checker.check_model(model)
    return model


def node_case(name: str, op: str, inputs: Sequence, *, opset: int = 17, outputs: int = 1,
              rtol: float = RTOL, atol: float = ATOL, **attrs) -> Case:
    """A one-node model; ``inputs`` holds X(array), C(array) or "" (absent optional input)."""
    names, graph_inputs, inits, feeds = [], [], [], {}
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            names.append(item)
            continue
        arg = f"in{i}"
        names.append(arg)
        array = np.asarray(item.value)
        if isinstance(item, X):
            graph_inputs.append(helper.make_tensor_value_info(arg, TensorProto.FLOAT, array.shape))
            feeds[arg] = array.astype(np.float32)
        else:
            inits.append(numpy_helper.from_array(array, arg))
    outs = [f"out{k}" for k in range(outputs)]
    node = helper.make_node(op, names, outs, name=name, **attrs)
    model = finish_model([node], graph_inputs, outs, inits, name, opset)
    return Case(name, model, feeds, rtol, atol)


def model_case(name: str, model: onnx.ModelProto, rtol: float = RTOL, atol: float = ATOL) -> Case:
    """A case from a whole model; random inputs of the declared shapes."""
    feeds = {}
    for vi in model.graph.input:
        if any(init.name == vi.name for init in model.graph.initializer):
            continue
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = rand(*shape, name=name + vi.name)
    return Case(name, model, feeds, rtol, atol)


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


# -- batching ----------------------------------------------------------------------------

def merge_graphs(parts: Sequence[tuple[str, Graph]], name: str = "batch") -> Graph:
    """One graph running every part side by side; values are renamed ``<prefix>.<name>``."""
    merged = Graph(name)
    outputs = []
    for prefix, part in parts:
        mapping = {}
        for v in part.inputs:
            mapping[id(v)] = merged.add_input(f"{prefix}.{v.name}", v.type)
        for op in part.ops:
            copy = dataclasses.replace(op, inputs=[], outputs=[], name=f"{prefix}.{op.name}")
            merged.add(copy, [mapping[id(v)] for v in op.inputs],
                       [f"{prefix}.{o.name}" for o in op.outputs],
                       types=[o.type for o in op.outputs])
            for old, new in zip(op.outputs, copy.outputs):
                mapping[id(old)] = new
        outputs += [mapping[id(v)] for v in part.outputs]
    merged.outputs = outputs
    return merged


def import_case(case: Case) -> Graph:
    if case.graph is None:
        case.graph = load_onnx(case.model)
    return case.graph


@dataclass
class BatchResult:
    """Outputs of one built batch: case name -> list of arrays (in the case's output order)."""
    outputs: dict[str, list[np.ndarray]]


def build_batches(root: Path, batches: dict[str, Sequence[Case]], *, opt: str = TEST_OPT,
                  jobs: int = 2, target: str = "cpp") -> dict[str, list[np.ndarray]]:
    """Compile each batch of cases as one network for ``target``, build them ``jobs`` at a
    time, run them.

    Returns case name -> outputs.  Results are cached in ``root`` (see ``shared``).
    """
    def one(batch_name: str, cases: Sequence[Case]) -> dict[str, list[np.ndarray]]:
        graphs = [(f"c{i}", import_case(c)) for i, c in enumerate(cases)]
        graph = merge_graphs(graphs, batch_name)
        out_dir = root / batch_name
        compile_to_dir(graph, out_dir, target=target, stimuli=0)
        build(out_dir, opt=opt)
        feeds = {}
        for (prefix, g), case in zip(graphs, cases):
            for v in g.inputs:
                feeds[f"{prefix}.{v.name}"] = case.feeds[v.name]
        results = run_inputs(out_dir, feeds)
        out, k = {}, 0
        ordered = list(results.values())
        for (prefix, g), case in zip(graphs, cases):
            out[case.name] = [np.asarray(ordered[k + j]) for j in range(len(g.outputs))]
            k += len(g.outputs)
        return out

    results: dict[str, list[np.ndarray]] = {}
    with ThreadPoolExecutor(jobs) as pool:
        for part in pool.map(lambda item: one(*item), batches.items()):
            results.update(part)
    return results


def shared(tmp_path_factory, key: str, compute: Callable[[Path], dict]) -> dict:
    """Compute once per test session, even across pytest-xdist workers (file lock + cache)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / f"n2d2c_cpp_{key}"
    root.mkdir(parents=True, exist_ok=True)
    cache = root / "results.npz"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / "failed.txt").exists():
            pytest.fail(f"shared build '{key}' failed in another worker:\n"
                        f"{(root / 'failed.txt').read_text()[-3000:]}")
        if not cache.exists():
            try:
                results = compute(root)
            except Exception as exc:
                (root / "failed.txt").write_text(f"{type(exc).__name__}: {exc}")
                raise
            flat = {f"{name}|{i}": a for name, arrays in results.items()
                    for i, a in enumerate(arrays)}
            np.savez(cache, **flat)
            (root / "index.json").write_text(json.dumps(sorted(results)))
    data = np.load(cache, allow_pickle=False)
    out: dict[str, list[np.ndarray]] = {}
    for key_ in sorted(data.files, key=lambda k: (k.split("|")[0], int(k.split("|")[1]))):
        name, _ = key_.split("|")
        out.setdefault(name, []).append(data[key_])
    return out


def assert_close(case: Case, got: Sequence[np.ndarray], ref: Sequence[np.ndarray]) -> None:
    assert len(got) == len(ref), f"{case.name}: {len(got)} outputs, ORT has {len(ref)}"
    for i, (g, r) in enumerate(zip(got, ref)):
        r = np.asarray(r, np.float32)
        assert g.shape == r.shape, f"{case.name} output {i}: shape {g.shape} vs ORT {r.shape}"
        np.testing.assert_allclose(g, r, rtol=case.rtol, atol=case.atol,
                                   err_msg=f"{case.name} output {i} differs from onnxruntime")


def family_tests(key: str, batches: dict[str, Sequence[Case]]):
    """The module-level fixtures and tests of an op family: each case compiled (one
    network per batch for C++, one for the C99 target), run, and compared with
    onnxruntime.  Use as ``cpp_outputs, c99_outputs, test_cpp_matches_onnxruntime,
    test_c99_matches_onnxruntime = family_tests("name", CASES)``."""
    cases = [case for batch in batches.values() for case in batch]
    ids = [case.name for case in cases]

    @pytest.fixture(scope="module")
    def cpp_outputs(tmp_path_factory):
        require_compiler()
        return shared(tmp_path_factory, key, lambda root: build_batches(root, batches))

    @pytest.fixture(scope="module")
    def c99_outputs(tmp_path_factory):
        require_compiler("c")
        return shared(tmp_path_factory, f"{key}_c99",
                      lambda root: build_batches(root, {"all": cases}, target="c"))

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_cpp_matches_onnxruntime(cpp_outputs, case):
        assert_close(case, cpp_outputs[case.name], run_ort(case.model, case.feeds))

    @pytest.mark.parametrize("case", cases, ids=ids)
    def test_c99_matches_onnxruntime(c99_outputs, case):
        assert_close(case, c99_outputs[case.name], run_ort(case.model, case.feeds))

    return cpp_outputs, c99_outputs, test_cpp_matches_onnxruntime, test_c99_matches_onnxruntime
