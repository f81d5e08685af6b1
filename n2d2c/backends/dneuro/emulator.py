"""The C++ bit-accurate emulator of a DNeuro network (templates/emulator)."""

from __future__ import annotations

import re

import numpy as np

from .layers import Layer, Network
from .rtl import render


def file_stem(name: str) -> str:
    """The file name of a layer's output (N2D2: ``layer_name_output.txt``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _c_array(values) -> str:
    values = [int(v) for v in np.asarray(values).reshape(-1)]
    return "{" + ", ".join(str(v) for v in values) + "}"


def _layer_context(layer: Layer, index: int, ids: dict[int, str]) -> dict:
    y = layer.output
    x = layer.inputs[0]
    q = layer.requant
    out_id = f"t{index}"
    ids[id(y)] = out_id
    ctx = {"name": layer.name, "name_file": file_stem(layer.name), "id": f"l{index}",
           "title": f"{layer.name}: {layer.kind}", "kind": layer.kind, "window": layer.is_window,
           "ins": [ids[id(s)] for s in layer.inputs], "out": out_id,
           "in_channels": [s.channels for s in layer.inputs],
           "C": x.channels, "H": x.height, "W": x.width, "M": y.channels, "OH": y.height,
           "OW": y.width, "KH": layer.kernel[0], "KW": layer.kernel[1],
           "pixels": y.pixels, "out_size": y.pixels * y.channels,
           "rows": _c_array(layer.row_origin or (0,)), "cols": _c_array(layer.col_origin or (0,)),
           "weights": None, "requant": q is not None, "in_zp": q.in_zp if q else 0,
           "zp": q.zp if q else 0, "in_min": x.bounds[0], "last_index": layer.last_index,
           "threshold": layer.threshold}
    ctx["table"] = None if layer.table is None else _c_array(layer.table)
    if layer.weights is not None:
        ctx.update(weights=_c_array(layer.weights), bias=_c_array(layer.bias))
    if q is not None:
        ctx.update(mult=_c_array(q.mult), shift=_c_array(q.shift), lo=_c_array(q.lo),
                   hi=_c_array(q.hi))
    return ctx


def emulator_source(network: Network, entity: str, acc_bits: int) -> str:
    ids = {id(network.input): "t_in"}
    layers = [_layer_context(layer, i, ids) for i, layer in enumerate(network.layers)]
    return render("emulator/dneuro_emulator.cpp.j2", net={"entity": entity, "ACC": acc_bits},
                  layers=layers, input_id="t_in",
                  in_size=network.input.pixels * network.input.channels)
