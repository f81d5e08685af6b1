"""Textual form of a lowered Program, for tests, bug reports and debugging.

    program @net (graph @lenet)
      input[0]: 784xf32  // %x
      output[0]: 10xf32  // %y
      arena %x: 784xf32 @ 0
      const $c_w: 8x1x5x5xf32
      layer load_inputs: load  // copy the inputs into the arena
        copy x=input[0]<1x1x28x28> -> y=%x<1x1x28x28 nhwc>
      layer conv1: op conv2d "conv1"  // conv2d 1x1x28x28 -> 1x8x24x24 (...), fused relu
        conv2d x=%x<1x1x28x28 nhwc> -> y=%conv1<1x8x24x24 nhwc> {strides = [1, 1], ...,
                                                                  weights = tensor<8x1x5x5xf32>}

Storages: ``%name`` an arena buffer (its size in elements; ``@ offset`` in bytes
when a placement is given), ``$name`` a const array (the shape of its data),
``input[i]`` / ``output[i]`` the caller's pointers.  A view is its storage and
``<shape layout +offset>``: the layout is left out when row-major, ``nhwc`` when
channel-last, else the explicit element strides; the offset (in elements) is
left out when 0.  Parameters print in the kernel table's order: arrays as their
type, activations by ``str``, ops (a fused rescale) by kind, name and mode.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import numpy as np

from ...ir import Operation
from ...ir.types import DType
from .kernels import KERNELS
from .views import Storage, View

if TYPE_CHECKING:  # pragma: no cover
    from .buffers import ArenaPlacement
    from .program import KernelCall, Layer, Program


def dtype_name(numpy_name: str) -> str:
    """The IR's spelling of an element type (f32, i8, ...)."""
    try:
        return DType.from_numpy(numpy_name).value
    except (TypeError, ValueError, KeyError):
        return numpy_name


def dims(shape) -> str:
    return "x".join(str(int(d)) for d in shape) if len(shape) else "scalar"


def format_storage_ref(storage: Storage) -> str:
    if storage.kind == "arena":
        return f"%{storage.name}"
    if storage.kind == "const":
        return f"${storage.name}"
    if storage.kind in ("input", "output"):
        return f"{storage.kind}[{storage.index}]"
    return f"{storage.kind}:{storage.name}"


def format_view(view: View) -> str:
    parts = [dims(view.shape)]
    if view.is_nhwc() and not view.is_row_major():
        parts.append("nhwc")
    elif not view.is_row_major():
        parts.append("[" + ", ".join(str(s) for s in view.strides) + "]")
    if view.offset:
        parts.append(f"+{view.offset}")
    return f"{format_storage_ref(view.storage)}<{' '.join(parts)}>"


def format_param(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return "nan" if math.isnan(value) else repr(value) if math.isfinite(value) else (
            "inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, np.ndarray):
        return f"tensor<{dims(value.shape)}x{dtype_name(value.dtype.name)}>" if value.ndim \
            else f"tensor<{dtype_name(value.dtype.name)}>"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(format_param(v) for v in value) + "]"
    if isinstance(value, Operation):
        return format_op_param(value)
    return str(value)   # Activation and other small value objects print themselves


def format_op_param(op: Operation) -> str:
    """An op carried as a parameter (the rescale a conv or gemm fuses): kind, name and what
    decides its arithmetic, not its tables."""
    text = f"{op.OP_NAME} {json.dumps(op.name)}"
    if hasattr(op, "varying"):
        varying = op.varying()
        text += (f" ({op.mode} to {op.dtype}, "
                 + (f"per channel: {', '.join(varying)})" if varying else "per tensor)"))
    return text


def format_call(call: "KernelCall") -> str:
    reads = ", ".join(f"{role}={format_view(v)}" for role, v in call.reads.items())
    writes = ", ".join(f"{role}={format_view(v)}" for role, v in call.writes.items())
    spec = KERNELS.get(call.kernel)
    order = [n for n in (spec.param_names if spec else ()) if n in call.params]
    order += [n for n in call.params if n not in order]
    params = ", ".join(f"{n} = {format_param(call.params[n])}" for n in order)
    return (f"{call.kernel} {reads} -> {writes}" + (f" {{{params}}}" if params else ""))


def format_layer_header(layer: "Layer") -> str:
    what = layer.kind
    if layer.op is not None:
        what += f" {layer.op.OP_NAME} {json.dumps(layer.op.name)}"
    return f"layer {layer.name}: {what}" + (f"  // {layer.comment}" if layer.comment else "")


def _placed(storage: Storage, placement: "ArenaPlacement | None") -> str:
    if placement is None:
        return ""
    if storage.name in placement.external:
        return " @ external"
    region = placement.regions.get(storage.name)
    return f" @ {region.offset}" if region is not None else " @ unplaced"


def print_program(program: "Program", placement: "ArenaPlacement | None" = None) -> str:
    lines = [f"program @{program.name} (graph @{program.graph.name})"]
    for kind, values in (("input", program.inputs), ("output", program.outputs)):
        for i, v in enumerate(values):
            lines.append(f"  {kind}[{i}]: {v.type.size}x{v.type.dtype.value}  // %{v.name}")
    for storage in program.arena.values():
        lines.append(f"  arena %{storage.name}: {storage.size}x{dtype_name(storage.dtype)}"
                     + _placed(storage, placement))
    for name, data in program.consts.items():
        lines.append(f"  const ${name}: {format_param(data)[len('tensor<'):-1]}")
    if placement is not None:
        scratch = sorted(set(placement.regions) - set(program.arena))
        for name in scratch:
            region = placement.regions[name]
            lines.append(f"  scratch %{name}: {region.nbytes} bytes @ {region.offset}")
        lines.append(f"  arena size {placement.nbytes} bytes, alignment {placement.alignment}")
    for layer in program.layers:
        lines.append("  " + format_layer_header(layer))
        lines += ["    " + format_call(call) for call in layer.calls]
    return "\n".join(lines) + "\n"
