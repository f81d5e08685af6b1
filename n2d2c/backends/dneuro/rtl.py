"""The VHDL of a DNeuro network: one entity per layer from jinja2 templates, the
top-level ``network`` that chains them, and its testbench."""

from __future__ import annotations

import re

import jinja2
import numpy as np

from .hardware import (PIPELINE_SLACK, channel_blocks, column_blocks, fork_fifo_depth, groups,
                       requant_mult_bits, rescale_input_bits, taps_per_group, weight_bits,
                       window_geometry)
from .layers import Layer, Network, Stream

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("n2d2c.backends.dneuro", "templates"),
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                          undefined=jinja2.StrictUndefined)


def render(template: str, **context) -> str:
    return _ENV.get_template(template).render(**context)


def vhdl_identifier(name: str, prefix: str) -> str:
    """A VHDL basic identifier from a layer or tensor name (letters, digits, single
    underscores, starting with a letter)."""
    text = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return re.sub(r"_+", "_", f"{prefix}_{text}" if text else prefix)


def int_array(values) -> str:
    """A VHDL aggregate of integers (a one-element aggregate needs a named choice)."""
    values = [int(v) for v in values]
    if len(values) == 1:
        return f"(0 => {values[0]})"
    lines, line = [], []
    for v in values:
        line.append(str(v))
        if len(line) == 16:
            lines.append(", ".join(line))
            line = []
    if line:
        lines.append(", ".join(line))
    return "(" + ",\n      ".join(lines) + ")"


def _bits(value: int, width: int) -> str:
    return format(value & ((1 << width) - 1), f"0{width}b")


def _padded(values: np.ndarray, count: int, fill: int) -> np.ndarray:
    out = np.full(count, fill, np.int64)
    out[:len(values)] = values
    return out


def _weight_rom(layer: Layer, lanes: int, n_groups: int, wb: int) -> str:
    """One word per (group, kernel row, block of row taps, block of input channels): lane
    j's weight of tap t, channel q of the blocks at bits ((j*T + t)*Q + q)*WB (0 past the
    last output channel, input channel or tap)."""
    w = layer.weights
    m, channels, kw = w.shape[0], w.shape[1], w.shape[3]
    q_lanes, t_lanes = layer.channel_lanes, layer.tap_lanes
    words = []
    for g in range(n_groups):
        for ky in range(layer.kernel[0]):
            for column in range(column_blocks(layer)):
                for block in range(channel_blocks(layer)):
                    bits = ""
                    for j in range(lanes):
                        out = g * lanes + j
                        for t in range(t_lanes):
                            kx = column * t_lanes + t
                            for q in range(q_lanes):
                                c = block * q_lanes + q
                                value = int(w[out, c, ky, kx]) \
                                    if out < m and c < channels and kx < kw else 0
                                bits = _bits(value, wb) + bits
                    words.append(f'    "{bits}"')
    if len(words) == 1:
        return f"    0 => {words[0].strip()}"
    return ",\n".join(words)


def _requant_context(layer: Layer, count: int, acc_bits: int) -> dict:
    q = layer.requant
    mb = requant_mult_bits(layer)
    width = acc_bits + mb + 3
    width = max(width, int(q.shift.max()) + 2)
    return {"MB": mb, "VB": rescale_input_bits(layer), "PW": width, "in_zp": q.in_zp,
            "zp": q.zp,
            "mult": int_array(_padded(q.mult, count, 1)),
            "shift": int_array(_padded(q.shift, count, 0)),
            "lo": int_array(_padded(q.lo, count, 0)),
            "hi": int_array(_padded(q.hi, count, 0))}


def _title(layer: Layer) -> str:
    return f"{layer.name}: {layer.kind} block for " + ", ".join(layer.ops)


def window_block(layer: Layer, entity: str, data_bits: int, acc_bits: int) -> dict:
    x, y = layer.inputs[0], layer.output
    geometry = window_geometry(layer)
    lanes, n_groups = layer.lanes, groups(layer)
    b = {"title": _title(layer), "entity": entity, "kind": layer.kind,
         "C": x.channels, "H": x.height, "W": x.width, "M": y.channels, "OH": y.height,
         "OW": y.width, "KH": layer.kernel[0], "KW": layer.kernel[1],
         "CI": channel_blocks(layer), "NQ": layer.channel_lanes, "P": lanes, "G": n_groups,
         "NT": layer.tap_lanes, "KXB": column_blocks(layer),
         "TAPS": taps_per_group(layer), "R": geometry.ring_rows, "SLACK": PIPELINE_SLACK,
         "DL": data_bits, "ACC": acc_bits, "in_dtype": x.dtype.value, "out_dtype": y.dtype.value,
         "in_signed": "true" if x.signed else "false", "in_min": x.bounds[0],
         "row_origin": int_array(layer.row_origin), "col_origin": int_array(layer.col_origin),
         "need": int_array(geometry.need),
         "origin_off": int_array(np.subtract(layer.row_origin, geometry.low)),
         "release": int_array(geometry.release),
         "has_weights": layer.weights is not None, "requant": layer.requant is not None,
         "slot_base": int_array(range(0, geometry.ring_rows * x.width, x.width)),
         "group_base": int_array(range(0, n_groups * lanes, lanes)),
         "block_base": int_array(range(0, channel_blocks(layer) * layer.channel_lanes,
                                       layer.channel_lanes)),
         "column_base": int_array(range(0, column_blocks(layer) * layer.tap_lanes,
                                        layer.tap_lanes))}
    if layer.weights is not None:
        wb = weight_bits(layer)
        b.update(WB=wb, wrom=_weight_rom(layer, lanes, n_groups, wb),
                 bias=int_array(_padded(layer.bias, n_groups * lanes, 0)))
    if layer.requant is not None:
        b.update(_requant_context(layer, n_groups * lanes, acc_bits))
    return b


def merge_block(layer: Layer, entity: str, data_bits: int, acc_bits: int) -> dict:
    y = layer.output
    b = {"title": _title(layer), "entity": entity, "kind": layer.kind,
         "n_inputs": len(layer.inputs), "H": y.height, "W": y.width, "M": y.channels,
         "DL": data_bits, "ACC": acc_bits, "out_dtype": y.dtype.value,
         "ins": [{"C": s.channels, "signed": "true" if s.signed else "false",
                  "offset": sum(t.channels for t in layer.inputs[:k])}
                 for k, s in enumerate(layer.inputs)],
         "requant": layer.requant is not None, "last_index": layer.last_index}
    if layer.kind == "logistic":
        b.update(table=int_array(layer.table), offset=-layer.inputs[0].bounds[0])
    if layer.kind == "rgb":
        b.update(classes=len(layer.table), binary=layer.threshold is not None,
                 threshold=layer.threshold, threshold_low=layer.threshold_low,
                 red=int_array(layer.table[:, 0]),
                 green=int_array(layer.table[:, 1]), blue=int_array(layer.table[:, 2]))
    if layer.requant is not None:
        b.update(_requant_context(layer, y.channels, acc_bits))
    return b


def network_files(network: Network, entity: str, data_bits: int, acc_bits: int,
                  frames: int, timeout: int, batch: int = 1) -> dict[str, str]:
    """``rtl/*.vhd`` and ``tb/network_tb.vhd`` of ``network``."""
    ids: dict[int, str] = {}
    streams = []

    def stream_id(s: Stream) -> str:
        if id(s) not in ids:
            ids[id(s)] = vhdl_identifier(s.name, f"s{len(ids)}")
            readers = network.consumers(s)
            fork = []
            if len(readers) > 1:
                depth = fork_fifo_depth(network, s)
                fork = [{"id": f"{ids[id(s)]}_b{k}", "depth": depth, "C": s.channels}
                        for k in range(len(readers))]
            streams.append({"id": ids[id(s)], "name": s.name, "C": s.channels, "fork": fork,
                            "readers": readers})
        return ids[id(s)]

    def reader_id(s: Stream, layer: Layer) -> str:
        base = stream_id(s)
        entry = next(e for e in streams if e["id"] == base)
        if not entry["fork"]:
            return base
        k = next(i for i, r in enumerate(entry["readers"]) if r is layer)
        return entry["fork"][k]["id"]

    files: dict[str, str] = {}
    blocks = []
    used_entities: set[str] = {entity, "dneuro_fifo", "network_tb"}
    input_id = stream_id(network.input)
    for layer in network.layers:
        name = vhdl_identifier(layer.name, "l")
        while name in used_entities:
            name += "_x"
        used_entities.add(name)
        if layer.is_window:
            b = window_block(layer, name, data_bits, acc_bits)
            text = render("rtl/window.vhd.j2", b=b)
        else:
            b = merge_block(layer, name, data_bits, acc_bits)
            text = render("rtl/merge.vhd.j2", b=b)
        if layer.is_window:
            b["ins"] = [{"id": reader_id(layer.inputs[0], layer)}]
        else:
            for entry, s in zip(b["ins"], layer.inputs):
                entry["id"] = reader_id(s, layer)
        b["out_id"] = stream_id(layer.output)
        blocks.append(b)
        files[f"rtl/{name}.vhd"] = text
    y = network.output
    x = network.input
    net = {"entity": entity, "graph": network.name, "DL": data_bits, "ACC": acc_bits,
           "in_C": x.channels, "in_H": x.height, "in_W": x.width, "in_dtype": x.dtype.value,
           "out_C": y.channels, "out_H": y.height, "out_W": y.width, "out_dtype": y.dtype.value,
           "out_signed": "true" if y.signed else "false",
           "streams": streams, "forks": [f for s in streams for f in s["fork"]],
           "blocks": blocks, "input_id": input_id, "output_id": stream_id(y),
           "frames": frames, "timeout": timeout, "batch": batch}
    files["rtl/dneuro_pkg.vhd"] = render("rtl/dneuro_pkg.vhd.j2")
    files["rtl/dneuro_fifo.vhd"] = render("rtl/dneuro_fifo.vhd.j2")
    files[f"rtl/{entity}.vhd"] = render("rtl/network.vhd.j2", net=net)
    files["tb/network_tb.vhd"] = render("rtl/network_tb.vhd.j2", net=net)
    return files


def timeout_cycles(estimated_frame_cycles: int, frames: int, pixels: int) -> int:
    """A watchdog far above any legal run (random gaps and stalls slow it ~4x at most)."""
    return int(20 * (estimated_frame_cycles * (frames + 2) + pixels) + 10000)

