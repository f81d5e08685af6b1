"""`quantize`: post-training quantization to the integer IR (N2D2 semantics).

    quantize{calib-data="calib.npz",nbbits=8,act-clipping-mode=MSE,
             act-rescaling-mode=Single-shift}

Calibrates on ``calib-data`` (an .npz/.npy file or a folder of .npy/.png/.pgm
samples, see n2d2c/quantization/data.py), then rewrites the graph in place:
float input -> quantize -> integer layers, each followed by an explicit
``rescale`` -> dequantize -> float softmax/outputs.  The options are those of
``n2d2c quantize`` and of N2D2's export (``-calib``, ``-act-clipping-mode``...);
the per-layer report is the pass result's ``report`` (``quantization`` holds the
QuantizationReport object).

The pass lives with the quantizer (a higher layer than n2d2c/passes); the
top-level package declares it to the pass registry, which imports this module
the first time a pipeline names ``quantize``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import UsageError
from ..ir import Graph
from ..passes.base import Pass, PassResult, option
from ..passes.registry import register_pass
from .options import QuantizationOptions

_DEFAULTS = QuantizationOptions()  # the pass's defaults are the Python API's


@dataclass
class QuantizeResult(PassResult):
    quantization: object = field(default=None, repr=False)  # a QuantizationReport


@register_pass
@dataclass(frozen=True)
class Quantize(Pass):
    """Post-training quantization to integer ops with explicit rescaling (N2D2)."""

    name = "quantize"

    calib_data: str = option("", "calibration samples: .npz/.npy file or folder of .npy/.png/.pgm")
    calib: int = option(_DEFAULTS.calib, "number of calibration samples (-1: all)")
    calib_reload: str = option(_DEFAULTS.calib_reload,
                               "statistics file: reused when it matches, else written")
    nbbits: int = option(_DEFAULTS.nbbits, "activation (and default weight) bits: 8 or 16 (2..16)")
    wt_nbbits: int = option(_DEFAULTS.wt_nbbits, "weight bits (0: nbbits; 4 gives int4 weights)")
    act_clipping_mode: str = option(_DEFAULTS.act_clipping_mode,
                                    "None | MSE | KL-Divergence | Quantile")
    act_quantile_value: float = option(_DEFAULTS.act_quantile_value,
                                       "fraction kept unclipped in Quantile mode")
    wt_clipping_mode: str = option(_DEFAULTS.wt_clipping_mode, "None | MSE | KL-Divergence")
    act_rescaling_mode: str = option(_DEFAULTS.act_rescaling_mode,
                                     "Floating-point | Fixed-point16 | Fixed-point32 | "
                                     "Single-shift | Double-shift")
    act_rescale_per_output: bool = option(_DEFAULTS.act_rescale_per_output,
                                          "per output channel rescaling (N2D2 flag)")
    wt_per_channel: bool = option(_DEFAULTS.wt_per_channel,
                                  "one weight scale per output channel (false: per layer)")
    no_unsigned: bool = option(_DEFAULTS.no_unsigned, "signed activations even after ReLU")
    sqnr_samples: int = option(_DEFAULTS.sqnr_samples,
                               "calibration samples the per-layer SQNR is measured on")
    # Pass options are scalars, so the per-layer lists are space-separated strings.
    keep_float: str = option("", "layers left in float, space-separated (--keep-float)")
    nbbits_layer: str = option("", "LAYER=BITS pairs, space-separated (--nbbits-layer)")

    def __post_init__(self):
        super().__post_init__()
        self.quantization_options()  # validate now, with the pass's name in the error

    def quantization_options(self):
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name != "calib_data"}
        fields["keep_float"] = tuple(self.keep_float.split())
        fields["nbbits_layer"] = tuple(self.nbbits_layer.split())
        try:
            return QuantizationOptions(**fields)
        except UsageError as exc:
            raise UsageError(f"pass '{self.name}': {exc.message}") from None

    def apply(self, graph: Graph) -> QuantizeResult:
        from . import quantize_graph
        if not self.calib_data:
            raise UsageError("pass 'quantize' needs calibration data: "
                             "quantize{calib-data=\"PATH\"}",
                             hint="PATH is an .npz/.npy file or a folder of .npy/.png/.pgm files")
        qgraph, report = quantize_graph(graph, self.calib_data, self.quantization_options())
        graph.take_contents(qgraph)
        return QuantizeResult(
            statistics={"layers": len(report.layers), "fallbacks": len(report.fallbacks),
                        "requantizations": report.requantizations},
            report=report.table(), quantization=report)
