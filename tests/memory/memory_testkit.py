"""Shared helpers for the memory planner tests: a DAG-like problem generator."""

from __future__ import annotations

from hypothesis import strategies as st

from n2d2c.errors import UsageError
from n2d2c.passes.memory import Buffer, ConvWrap, MemoryOptions, MemoryProblem, conv_wrap_margin

ALIGNMENTS = (1, 2, 4, 8)


def chain(sizes: list[int]) -> MemoryProblem:
    """input -> op0 -> op1 -> ...: buffer i produced at step i-1, read at step i."""
    return MemoryProblem(tuple(Buffer(f"t{i}", s, i - 1, i) for i, s in enumerate(sizes)))


@st.composite
def problems(draw, max_buffers: int = 12) -> MemoryProblem:
    """A random schedule: graph inputs, then one op per step reading 1-3 earlier
    buffers, some outputs kept alive to the end, and random in-place / wrap /
    concat relations (some of which the timing will not allow)."""
    n = draw(st.integers(1, max_buffers))
    n_inputs = draw(st.integers(1, min(2, n)))
    specs = []
    for i in range(n):
        rows, row_bytes = draw(st.integers(1, 6)), draw(st.integers(1, 16))
        start = -1 if i < n_inputs else i - n_inputs
        specs.append({"name": f"b{i:02d}", "rows": rows, "row_bytes": row_bytes,
                      "start": start, "end": start, "inputs": [], "rel": {}})
    closed: set[int] = set()  # buffers whose last reader is already fixed (mostly)
    for i in range(n_inputs, n):
        open_ = [j for j in range(i) if j not in closed] or list(range(i))
        picks = draw(st.lists(st.sampled_from(open_), min_size=1, max_size=3, unique=True))
        specs[i]["inputs"] = sorted(picks)
        for j in picks:
            specs[j]["end"] = max(specs[j]["end"], specs[i]["start"])
        if _relation(draw, specs, i) and draw(st.integers(0, 3)):
            closed.update(picks)  # usually honour "only consumer": relation can apply
    last = specs[-1]["start"]
    for k, spec in enumerate(specs):
        if spec["end"] == spec["start"] or (k not in closed and draw(st.integers(0, 4)) == 0):
            spec["end"] = max(spec["end"], last, spec["start"])  # graph output
    buffers = tuple(Buffer(s["name"], s["rows"] * s["row_bytes"], s["start"], s["end"], **s["rel"])
                    for s in specs)
    return MemoryProblem(buffers, alignment=draw(st.sampled_from(ALIGNMENTS)))


def _relation(draw, specs: list[dict], i: int) -> bool:
    """Maybe give buffer i a relation to its inputs; True if one was set."""
    me, src = specs[i], specs[specs[i]["inputs"][0]]
    kind = draw(st.sampled_from(["none", "inplace", "wrap", "concat"]))
    if kind == "inplace":
        me["rows"], me["row_bytes"] = src["rows"], src["row_bytes"]
        me["rel"]["inplace_of"] = src["name"]
    elif kind == "wrap":
        kh, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        pad = draw(st.integers(0, kh - 1))
        out_rows = max(1, (src["rows"] + 2 * pad - kh) // stride + 1)
        try:
            conv_wrap_margin(src["rows"], out_rows, src["row_bytes"], me["row_bytes"],
                             kh, stride, pad)
        except UsageError:
            return False
        me["rows"] = out_rows
        me["rel"]["wrap"] = ConvWrap(src["name"], src["rows"], out_rows, src["row_bytes"],
                                     me["row_bytes"], kh, stride, pad)
    elif kind == "concat":
        offset = 0
        for j in me["inputs"]:
            part = specs[j]
            if "concat_into" not in part["rel"]:
                part["rel"]["concat_into"] = (me["name"], offset)
            offset += part["rows"] * part["row_bytes"]
        me["rows"], me["row_bytes"] = 1, offset
    return kind != "none"


@st.composite
def option_sets(draw) -> MemoryOptions:
    return MemoryOptions(IncludeInputInBuffer=draw(st.booleans()),
                         OptimizeBufferMemory=draw(st.booleans()),
                         OptimizeNoBranchConcat=draw(st.booleans()),
                         MemoryAlignment=draw(st.sampled_from(ALIGNMENTS)))


@st.composite
def conv_chains(draw, max_layers: int = 8) -> MemoryProblem:
    """input -> conv/pool (wrapping) -> optional in-place ReLU -> ...; the
    wrap is always allowed by the timing, so the planner has to use it well."""
    rows, row_bytes = draw(st.integers(2, 10)), draw(st.integers(1, 12))
    buffers = [Buffer("l00", rows * row_bytes, -1, 0)]
    step = 0
    for k in range(1, draw(st.integers(1, max_layers)) + 1):
        prev = buffers[-1]
        if draw(st.booleans()):  # element-wise, in place
            buffers.append(Buffer(f"l{k:02d}", prev.size, step, step + 1, inplace_of=prev.name))
        else:
            kh, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
            pad = draw(st.integers(0, kh))  # pad == kh: an all-padding first row
            out_rows = max(1, (rows + 2 * pad - kh) // stride + 1)
            out_bytes = draw(st.integers(1, 12))
            try:
                conv_wrap_margin(rows, out_rows, row_bytes, out_bytes, kh, stride, pad)
            except UsageError:
                pad = 0
                out_rows = max(1, (rows - kh) // stride + 1)
            wrap = ConvWrap(prev.name, rows, out_rows, row_bytes, out_bytes, kh, stride, pad)
            buffers.append(Buffer(f"l{k:02d}", out_rows * out_bytes, step, step + 1, wrap=wrap))
            rows, row_bytes = out_rows, out_bytes
        step += 1
    return MemoryProblem(tuple(buffers), alignment=draw(st.sampled_from(ALIGNMENTS)))
