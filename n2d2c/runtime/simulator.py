"""The simulator: runs an IR graph op by op with the kernel table (fast float32 /
exact-BLAS kernels by default, the float64-accumulating reference on request)."""

from __future__ import annotations

import time
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from ..errors import InputError, InternalError, N2D2CError, ShapeError, UnsupportedError, UsageError
from ..ir import Graph, Layout, Operation, Value, verify
from ..ir.types import DType, TensorType
from .registry import DEVICES, PRECISIONS, find_kernel, key_dtype


class ProfileEntry(NamedTuple):
    """Wall time of one op in the last profiled run."""

    op_name: str
    op_type: str
    seconds: float


class SimulationResult(dict):
    """Outputs keyed by graph output name, in graph order; ``profile`` is the
    per-op timing list when the run was profiled, else None."""

    profile: list[ProfileEntry] | None = None


def _open_device(device: str):
    """Check that ``device`` can run; return the array module it uses."""
    if device not in DEVICES:
        raise UsageError(f"unknown simulator device {device!r}; expected one of {list(DEVICES)}")
    if device in ("cpu", "array"):  # "array": the GPU kernels on numpy (runtime/gpu)
        return np
    try:
        import cupy  # noqa: F401  (imported lazily: optional dependency)
    except Exception as exc:  # ImportError, or a broken CUDA install
        raise UnsupportedError(
            f"the GPU simulator needs cupy, which could not be imported ({exc})",
            hint="install n2d2c[gpu] on a machine with a CUDA GPU, or use device='cpu'") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise UnsupportedError(f"the GPU simulator found no usable CUDA device ({exc})",
                               hint="use device='cpu'") from None
    if count < 1:
        raise UnsupportedError("the GPU simulator found no CUDA device", hint="use device='cpu'")
    return cupy


class Simulator:
    """Runs ``graph`` on numpy arrays.

    The graph is verified and every op's kernel is looked up when the simulator
    is built, so an unsupported op fails before any computation.  ``run`` may be
    called any number of times; ``last_profile`` holds the per-op timings of the
    last ``run(..., profile=True)``.

    ``device`` is "cpu" (numpy/numba kernels) or "gpu": the latter imports cupy
    lazily, runs the array kernels of ``n2d2c.runtime.gpu`` on cupy arrays and
    copies the outputs back to numpy; without cupy or a CUDA device it raises
    UnsupportedError saying which, and an op without a GPU kernel is named when the
    simulator is built.  "array" runs those same kernels on numpy (their tests).

    ``precision`` (CPU only): "fast" (default) runs float convolutions, dense
    products and pooling as float32 BLAS products and integer ones through exact
    floating-point BLAS (``n2d2c.runtime.fast``); "reference" runs only the
    kernels that accumulate floats in float64 and round once, the closest to the
    exact result.  Integer results are bit-identical at both precisions.
    """

    def __init__(self, graph: Graph, *, device: str = "cpu", check: bool = True,
                 precision: str = "fast"):
        if precision not in PRECISIONS:
            raise UsageError(f"unknown simulator precision {precision!r}; expected one of "
                             f"{list(PRECISIONS)}")
        if precision == "reference" and device != "cpu":
            raise UsageError(f"the reference precision runs on the cpu device, not {device!r}",
                             hint="the array and GPU kernels compute in float32")
        self.graph = graph
        self.device = device
        self.precision = precision
        self.xp = _open_device(device)
        if check:
            verify(graph)
        self.last_profile: list[ProfileEntry] = []

        slot: dict[int, int] = {}
        for v in graph.values():
            slot[id(v)] = len(slot)
        self._num_slots = len(slot)
        self._input_slots = [slot[id(v)] for v in graph.inputs]
        self._output_slots = [slot[id(v)] for v in graph.outputs]

        plan = []
        for op in graph.ops:
            for v in (*op.inputs, *op.outputs):
                if v.type.layout is not Layout.NCHW and v.type.rank == 4:
                    raise UnsupportedError(
                        f"{op.label}: the simulator runs NCHW graphs, but %{v.name} is {v.type}")
            fn = find_kernel(op, device, precision)
            if fn is None:
                raise UnsupportedError(
                    f"the {device} simulator has no kernel for op '{op.OP_NAME}' "
                    f"(node '{op.name}') on {key_dtype(op).value} operands",
                    location=op.name or None)
            activation = getattr(op, "activation", "none")
            if activation != "none" and not getattr(fn, "fused_activation", False):
                raise UnsupportedError(
                    f"the {device} simulator kernel for op '{op.OP_NAME}' (node '{op.name}') "
                    f"cannot apply the fused activation {activation!r}", location=op.name or None)
            plan.append((op, fn, [slot[id(v)] for v in op.inputs],
                         [slot[id(v)] for v in op.outputs]))
        self._plan = plan

        # Free each intermediate right after its last reader.
        keep = set(self._output_slots)
        last_read: dict[int, int] = {}
        for step, (_, _, ins, _) in enumerate(plan):
            for s in ins:
                last_read[s] = step
        self._free_after: list[list[int]] = [[] for _ in plan]
        for s, step in last_read.items():
            if s not in keep:
                self._free_after[step].append(s)

    # -- inputs ------------------------------------------------------------------
    def _check_feeds(self, feeds: Mapping) -> list[np.ndarray]:
        if not isinstance(feeds, Mapping):
            raise UsageError(f"feeds must be a mapping of input name to array, got {type(feeds).__name__}")
        given: dict[str, object] = {}
        for key, array in feeds.items():
            name = key.name if isinstance(key, Value) else str(key)
            given[name] = array
        expected = {v.name: v for v in self.graph.inputs}
        extra = [n for n in given if n not in expected]
        if extra:
            raise InputError(
                f"unknown graph input{'s' if len(extra) > 1 else ''} "
                f"{', '.join(repr(n) for n in extra)}; the graph's inputs are "
                + ", ".join(f"'{v.name}': {v.type}" for v in self.graph.inputs))
        arrays = []
        for v in self.graph.inputs:
            if v.name not in given:
                raise InputError(f"missing graph input '{v.name}': expected {v.type}")
            arrays.append(self._convert(v, given[v.name]))
        return arrays

    def _convert(self, v: Value, data) -> np.ndarray:
        want: TensorType = v.type
        try:
            array = np.asarray(data)
        except Exception as exc:
            raise InputError(f"input '{v.name}': expected {want}, got an object numpy cannot "
                             f"read as an array ({type(data).__name__}: {exc})") from None
        given = _describe(array)
        if array.shape != want.shape:
            raise ShapeError(f"input '{v.name}': expected {want}, got {given}")
        kind = array.dtype.kind
        dt = want.dtype
        if dt.is_float:
            ok = kind == "f"
        elif dt is DType.BOOL:
            ok = kind == "b"
        else:
            ok = kind in "iu"
            if ok and array.size:
                info = np.iinfo(dt.numpy)
                ok = bool(array.min() >= info.min and array.max() <= info.max)
        if not ok:
            raise ShapeError(f"input '{v.name}': expected {want}, got {given}",
                             hint="float inputs accept any float array (cast to the input type); "
                                  "integer inputs accept integers in range")
        return np.ascontiguousarray(array, dtype=dt.numpy)

    # -- running -----------------------------------------------------------------
    def run(self, feeds: Mapping, *, profile: bool = False) -> SimulationResult:
        env: list = [None] * self._num_slots
        borrowed: set[int] = set()
        for s, array in zip(self._input_slots, self._check_feeds(feeds)):
            if self.xp is not np:
                array = self.xp.asarray(array)
            env[s] = array
            borrowed.add(id(array))
        timings: list[ProfileEntry] = []
        clock = time.perf_counter
        for step, (op, fn, ins, outs) in enumerate(self._plan):
            args = [env[s] for s in ins]
            start = clock() if profile else 0.0
            try:
                result = fn(op, *args)
            except N2D2CError:
                raise
            except Exception as exc:
                raise InternalError(f"{op.label}: simulator kernel {fn.__name__} failed: "
                                    f"{type(exc).__name__}: {exc}", location=op.name or None) from exc
            if profile:
                timings.append(ProfileEntry(op.name, op.OP_NAME, clock() - start))
            results = (result,) if not isinstance(result, (list, tuple)) else result
            if len(results) != len(outs):
                raise InternalError(f"{op.label}: kernel {fn.__name__} returned {len(results)} "
                                    f"results, expected {len(outs)}")
            for s, value, array in zip(outs, op.outputs, results):
                env[s] = _conform(self.xp, op, value, array)
            for s in self._free_after[step]:
                env[s] = None
        out = SimulationResult()
        for v, s in zip(self.graph.outputs, self._output_slots):
            array = env[s]
            if self.xp is not np:
                out[v.name] = self.xp.asnumpy(array)
                continue
            # Never hand out the caller's feed or an op's constant (or a view of one).
            if id(array) in borrowed or not array.flags.owndata or not array.flags.writeable:
                array = np.array(array, copy=True)
            out[v.name] = array
        if profile:
            self.last_profile = timings
            out.profile = timings
        return out

    __call__ = run

    def format_profile(self, top: int | None = None) -> str:
        """``last_profile`` as a text table, slowest op first."""
        return format_profile(self.last_profile, top)


def _describe(array: np.ndarray) -> str:
    return f"an array of shape {list(array.shape)} and type {array.dtype}"


def _conform(xp, op: Operation, value: Value, array) -> np.ndarray:
    """Check a kernel result against the IR type; cast it to the declared dtype."""
    array = xp.asarray(array)
    want = value.type
    if array.shape != want.shape:
        raise InternalError(f"{op.label}: kernel produced shape {list(array.shape)} for "
                            f"%{value.name}, but its type is {want}")
    if array.dtype != want.dtype.numpy:
        array = array.astype(want.dtype.numpy)
    return array


def format_profile(entries: Sequence[ProfileEntry], top: int | None = None) -> str:
    """A text table of per-op timings, slowest first, with each op's share."""
    total = sum(e.seconds for e in entries) or 1.0
    rows = sorted(entries, key=lambda e: e.seconds, reverse=True)[:top]
    width = max([len(e.op_name) for e in rows] + [4])
    lines = [f"{'node':<{width}}  {'op':<18} {'ms':>10} {'share':>7}"]
    for e in rows:
        lines.append(f"{e.op_name:<{width}}  {e.op_type:<18} {e.seconds * 1e3:10.3f} "
                     f"{100 * e.seconds / total:6.1f}%")
    lines.append(f"{'total':<{width}}  {'':<18} {total * 1e3:10.3f}")
    return "\n".join(lines)


def simulate(graph: Graph, feeds: Mapping, *, profile: bool = False,
             device: str = "cpu", precision: str = "fast") -> SimulationResult:
    """Run ``graph`` once on ``feeds`` (input name -> array).

    Returns a dict of output name -> array in graph output order; with
    ``profile=True`` its ``.profile`` attribute lists (op_name, op_type, seconds).
    """
    return Simulator(graph, device=device, precision=precision).run(feeds, profile=profile)


__all__: Sequence[str] = ["ProfileEntry", "SimulationResult", "Simulator", "format_profile",
                           "simulate"]
