"""Mixed precision per layer: the options ``keep_float`` (a layer stays float between
dequantize and quantize, as ops without integer kernels do) and ``nbbits_layer`` (a
weighted layer's weights and result in other bits), checked against the graph.

Names are op names of the float graph the quantizer sees (as ``quantize --report``
prints them).  A misspelt name is an error, not a silent no-op: the user asked for
precision somewhere and would otherwise not get it.
"""

from __future__ import annotations

from difflib import get_close_matches

from ..errors import UsageError
from ..ir import Graph
from .options import QuantizationOptions
from .units import Units

#: Unit kinds whose weights and result may take other bits: their integer op accepts
#: i8 or i16 operands in any mix (accumulating in i64 past 8 bits, ir/ops/quant.py).
#: Weightless units and tables take their operands' dtype and stay at nbbits.
WIDENABLE = ("conv", "deconv", "gemm", "matmul-const")


def check_layer_names(graph: Graph, units: Units, opt: QuantizationOptions) -> None:
    """Raise a UsageError naming the first layer of ``keep_float`` / ``nbbits_layer``
    that is not an op of ``graph``, or an ``nbbits_layer`` that is not a weighted layer."""
    ops = {op.name: op for op in graph.ops}
    for flag, names in (("--keep-float", opt.keep_float),
                        ("--nbbits-layer", [name for name, _ in opt.nbbits_layer])):
        for name in names:
            if name not in ops:
                close = get_close_matches(name, list(ops), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else \
                    " (the layer names are those of `quantize --report`)"
                raise UsageError(f"{flag}: no layer named '{name}' in the model{hint}")
    for name, bits in opt.nbbits_layer:
        unit = units.by_op.get(id(ops[name]))
        if unit is None or unit.kind not in WIDENABLE:
            raise UsageError(
                f"--nbbits-layer {name}={bits}: layer '{name}' ({ops[name].OP_NAME}) has no "
                f"integer kernel in other bits than the network's {opt.nbbits}",
                hint="per-layer bits apply to conv, conv-transpose and gemm/matmul layers "
                     "with constant weights; --keep-float keeps any layer in float")


def keep_float(graph: Graph, units: Units, opt: QuantizationOptions) -> None:
    """Forget the units of the ``keep_float`` layers (their clamps become ordinary ops
    again), so that planning leaves them, like any op without a unit, in float."""
    kept = set(opt.keep_float)
    for op in graph.ops:
        unit = units.by_op.get(id(op))
        if unit is None or op.name not in kept:
            continue
        del units.by_op[id(op)]
        del units.by_end[id(unit.end)]
        units.absorbed.difference_update(id(c) for c in unit.chain)
