"""Handlers of data movement: reshape, transpose, concat/split/slice, pad, expand/tile,
block shuffles, gathers, trilu and resize (see layers.py)."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedError
from ...ir.ops.shape_rules import normalize_axis
from .layers import NetworkWriter, cfloat, cstr, handles


def _dims(values) -> str:
    return "dims({" + ", ".join(str(int(v)) for v in values) + "})"


def _slice(w: NetworkWriter, op, x: str, start, out_value, stride, mode="kSTRICT_BOUNDS",
           fill=0.0) -> str:
    return (f"b.slice({x}, {_dims(start)}, {w.out_dims(out_value)}, {_dims(stride)}, "
            f"SampleMode::{mode}, {cfloat(fill)}, {w.label(op)})")


@handles("reshape")
def _reshape(w: NetworkWriter, op):
    w.result(op, f"b.reshape({w.tensor(op.inputs[0])}, {w.out_dims(op.outputs[0])}, "
                 f"{w.label(op)})")


@handles("transpose")
def _transpose(w: NetworkWriter, op):
    rank = op.inputs[0].type.rank
    perm = op.perm or tuple(reversed(range(rank)))
    w.result(op, f"b.transpose({w.tensor(op.inputs[0])}, {{{', '.join(map(str, perm))}}}, "
                 f"{w.label(op)})")


@handles("concat")
def _concat(w: NetworkWriter, op):
    axis = normalize_axis(op, op.axis, op.outputs[0].type.rank)
    parts = ", ".join(w.tensor(v) for v in op.inputs)
    w.result(op, f"b.concat({{{parts}}}, {axis}, {w.label(op)})")


@handles("split")
def _split(w: NetworkWriter, op):
    x = op.inputs[0]
    axis = normalize_axis(op, op.axis, x.type.rank)
    offset = 0
    for i, (size, out) in enumerate(zip(op.sizes, op.outputs)):
        start = [0] * x.type.rank
        start[axis] = offset
        w.result(op, _slice(w, op, w.tensor(x), start, out, [1] * x.type.rank), i)
        offset += size


@handles("slice")
def _slice_op(w: NetworkWriter, op):
    x = op.inputs[0]
    start, stride = [], []
    for s, dim in zip(op.slices(x.type.rank), x.shape):
        r = range(*s.indices(dim))
        start.append(r.start if len(r) else 0)
        stride.append(r.step)
    w.result(op, _slice(w, op, w.tensor(x), start, op.outputs[0], stride))


PAD_MODES = {"constant": "kFILL", "reflect": "kREFLECT", "edge": "kCLAMP"}


@handles("pad")
def _pad(w: NetworkWriter, op):
    x = op.inputs[0]
    rank = x.type.rank
    start = [-p for p in op.pads[:rank]]
    w.result(op, _slice(w, op, w.tensor(x), start, op.outputs[0], [1] * rank,
                        PAD_MODES[op.mode], op.value))


def _same_rank(w: NetworkWriter, op, v, rank: int) -> str:
    x = w.tensor(v)
    if v.type.rank == rank:
        return x
    shape = (1,) * (rank - v.type.rank) + tuple(v.shape)
    return f"b.reshape({x}, {w.dims(shape)}, {w.label(op)})"


@handles("expand", "tile")
def _repeat(w: NetworkWriter, op):
    # Wrapping reads repeat the input: a size-1 axis broadcasts, a size-n one tiles.
    out = op.outputs[0]
    x = _same_rank(w, op, op.inputs[0], out.type.rank)
    w.result(op, _slice(w, op, x, [0] * out.type.rank, out, [1] * out.type.rank, "kWRAP"))


@handles("depth_to_space", "space_to_depth")
def _block_shuffle(w: NetworkWriter, op):
    x = op.inputs[0]
    split, perm = op.rearrangement(x.shape)
    batched = w.batch.is_batched(x)
    y = f"b.reshape({w.tensor(x)}, {w.dims(split, batched)}, {w.label(op)})"
    y = f"b.transpose({y}, {{{', '.join(map(str, perm))}}}, {w.label(op)})"
    w.result(op, f"b.reshape({y}, {w.out_dims(op.outputs[0])}, {w.label(op)})")


@handles("gather", "gather_elements")
def _gather(w: NetworkWriter, op):
    x, indices = op.inputs
    axis = normalize_axis(op, op.axis, x.type.rank)
    elements = str(op.OP_NAME == "gather_elements").lower()
    index = w.tensor(indices) if w.graph.constant_value(indices) is None else None
    if index is None:
        # Constant indices counted from the end are wrapped here (TensorRT may not).
        values = np.asarray(w.graph.constant_value(indices)).astype(np.int64)
        values = np.where(values < 0, values + x.shape[axis], values)
        file = w.extra_file(f"{op.label}.indices", values)
        index = (f"b.constant({cstr(file)}, {_dims(values.shape)}, DataType::kINT64)")
    w.result(op, f"b.gather({w.tensor(x)}, {index}, {axis}, {elements}, {w.label(op)})")


@handles("trilu")
def _trilu(w: NetworkWriter, op):
    x = op.inputs[0]
    rows, cols = x.shape[-2:]
    mask = np.array([[op.keeps(r, c) for c in range(cols)] for r in range(rows)], np.bool_)
    file = w.extra_file(f"{op.label}.mask", mask)
    w.result(op, f"b.select(b.constant(\"{file}\", {_dims(mask.shape)}, DataType::kBOOL), "
                 f"{w.tensor(x)}, b.scalar(0.0f, 2), {w.label(op)})")


COORDINATES = {"half_pixel": "kHALF_PIXEL", "pytorch_half_pixel": "kHALF_PIXEL",
               "align_corners": "kALIGN_CORNERS", "asymmetric": "kASYMMETRIC"}
ROUNDING = {"round_prefer_floor": "kHALF_DOWN", "round_prefer_ceil": "kHALF_UP",
            "floor": "kFLOOR", "ceil": "kCEIL"}


@handles("resize")
def _resize(w: NetworkWriter, op):
    transform = COORDINATES.get(op.coordinate_transformation_mode)
    if transform is None:
        raise UnsupportedError(f"{op.label}: coordinate transformation "
                               f"{op.coordinate_transformation_mode!r} is not mapped to TensorRT")
    mode = "kNEAREST" if op.mode == "nearest" else "kLINEAR"
    # pytorch_half_pixel reads source 0 for a size-1 output axis: TensorRT's kUPPER.
    selector = "kUPPER" if op.coordinate_transformation_mode == "pytorch_half_pixel" \
        else "kFORMULA"
    w.result(op, f"b.resize({w.tensor(op.inputs[0])}, {w.out_dims(op.outputs[0])}, "
                 f"InterpolationMode::{mode}, ResizeCoordinateTransformation::{transform}, "
                 f"ResizeRoundMode::{ROUNDING[op.nearest_mode]}, -0.75f, ResizeSelector::"
                 f"{selector}, {w.label(op)})")
