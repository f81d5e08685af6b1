"""Post-training quantization's graph transformation: float graph + calibration
statistics -> integer IR (ops and their exact semantics: n2d2c/ir/ops/quant.py).

Three steps, one module each:

``units.py``
    finds the *units*: conv / gemm / matmul / add layers with the clamps that
    follow them (their ``rescale``'s bounds), and which values are never negative.
``planning.py``
    decides which values run on integers and the scale of each (N2D2's
    thresholds, clipping modes and scale sharing); weight scales in
    ``weights.py``, levels and ``QSpec`` in ``levels.py``.
``rewrite.py``
    writes the integer graph: quantized weights and biases, accumulators,
    rescales (factors approximated by ``rescaling.py``), quantize / dequantize at
    the float boundaries.
"""

from __future__ import annotations

from ..ir import Graph, verify
from .calibration import CalibrationStats
from .mixed import check_layer_names, keep_float
from .options import QuantizationOptions
from .planning import ScalePlan
from .report import LayerReport
from .rewrite import GraphRewrite, QuantizationWarning
from .units import Units

__all__ = ["LayerReport", "QuantizationWarning", "Quantizer"]


class Quantizer:
    """``Quantizer(graph, stats, options).run()``: the integer graph; afterwards
    ``rows``, ``warnings``, ``requantizations`` and ``float_ops`` feed the report."""

    def __init__(self, graph: Graph, stats: CalibrationStats, options: QuantizationOptions):
        self.g = graph
        self.stats = stats
        self.opt = options
        self.rows: list[LayerReport] = []
        self.warnings: list[str] = []
        self.requantizations = 0
        self.float_ops: list[str] = []

    def run(self) -> Graph:
        units = Units(self.g, self.stats)
        check_layer_names(self.g, units, self.opt)
        keep_float(self.g, units, self.opt)
        plan = ScalePlan(units, self.opt)
        rewrite = GraphRewrite(plan)
        new = rewrite.run()
        verify(new)
        self.rows, self.warnings = rewrite.rows, rewrite.warnings
        self.requantizations, self.float_ops = rewrite.requantizations, rewrite.float_ops
        return new
