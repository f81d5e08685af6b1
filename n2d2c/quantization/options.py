"""Options of post-training quantization (N2D2's export flags) and their spellings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import UsageError

#: Activation clipping modes, N2D2 spelling; keys are the accepted lowercase forms.
ACT_CLIPPING_MODES = {"none": "None", "mse": "MSE", "kl-divergence": "KL-Divergence",
                      "kl": "KL-Divergence", "quantile": "Quantile"}
WT_CLIPPING_MODES = {"none": "None", "mse": "MSE", "kl-divergence": "KL-Divergence",
                     "kl": "KL-Divergence"}
#: Rescaling modes: N2D2 spelling -> the ``mode`` attribute of the IR's ``rescale``.
RESCALING_MODES = {"Floating-point": "floating-point", "Fixed-point16": "fixed-point16",
                   "Fixed-point32": "fixed-point32", "Single-shift": "single-shift",
                   "Double-shift": "double-shift"}


def _canonical(value: str, table: dict[str, str], what: str) -> str:
    key = str(value).strip().lower()
    for spelled in table.values():
        if spelled.lower() == key:
            return spelled
    if key in table:
        return table[key]
    choices = ", ".join(dict.fromkeys(table.values()))
    raise UsageError(f"unknown {what} {value!r}; expected one of {choices}")


def canonical_rescaling_mode(value: str) -> str:
    return _canonical(value, {k.lower(): k for k in RESCALING_MODES}, "rescaling mode")


def _names(value, what: str) -> tuple[str, ...]:
    """A tuple of layer names from one name or an iterable of names."""
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise UsageError(f"{what} takes layer names, got {name!r}")
    return tuple(dict.fromkeys(names))


def _layer_bits(value) -> tuple[tuple[str, int], ...]:
    """``(layer, bits)`` pairs from a mapping, pairs, or ``"layer=bits"`` strings (the CLI's
    ``--nbbits-layer``); the last mention of a layer wins."""
    if isinstance(value, (str, dict)):
        value = [value] if isinstance(value, str) else list(value.items())
    pairs: dict[str, int] = {}
    for item in value:
        if isinstance(item, str):
            name, sep, bits = item.rpartition("=")
            if not sep or not name:
                raise UsageError(f"nbbits-layer takes LAYER=BITS, got {item!r}")
            item = (name, bits)
        name, bits = item
        try:
            bits = int(bits)
        except (TypeError, ValueError):
            raise UsageError(f"nbbits-layer '{name}': bits must be an integer, "
                             f"got {bits!r}") from None
        if not 2 <= bits <= 16:
            raise UsageError(f"nbbits-layer '{name}': bits must lie in 2..16, got {bits}")
        pairs[str(name)] = bits
    return tuple(pairs.items())


@dataclass(frozen=True)
class QuantizationOptions:
    """Post-training quantization settings (N2D2 semantics, see docs/quant post.rst).

    ``nbbits``                 activation (and default weight) precision, 2..16: up to 8
                               bits in i8/u8, above in i16 (unsigned 16-bit activations
                               use [0, 32767]: the IR has no u16)
    ``wt_nbbits``              weight precision (0: same as nbbits; 4 gives int4 weights in i8)
    ``act_clipping_mode``      None | MSE | KL-Divergence | Quantile
    ``act_quantile_value``     fraction of values kept unclipped in Quantile mode
    ``wt_clipping_mode``       None | MSE | KL-Divergence (one threshold per layer)
    ``act_rescaling_mode``     Floating-point | Fixed-point16 | Fixed-point32 |
                               Single-shift | Double-shift
    ``act_rescale_per_output`` N2D2's flag: per output channel weight normalisation and
                               rescaling (same effect as ``wt_per_channel``)
    ``wt_per_channel``         one weight scale per output channel (the default: per-layer
                               scales, ``False``, lose most on layers whose channels differ
                               in range, e.g. depthwise and squeeze-excite convolutions)
    ``no_unsigned``            signed activations even after ReLU
    ``calib``                  calibration samples to use (-1: all)
    ``calib_reload``           statistics file: reused when it matches, else written
    ``sqnr_samples``           calibration samples the per-layer SQNR is measured on
    ``keep_float``             layer (op) names left in float between dequantize and
                               quantize: mixed precision (mixed.py)
    ``nbbits_layer``           ``(layer, bits)`` pairs (or a mapping, or ``"layer=bits"``
                               strings): that layer's weights and result in ``bits``
    """

    nbbits: int = 8
    wt_nbbits: int = 0
    act_clipping_mode: str = "MSE"
    act_quantile_value: float = 0.9999
    wt_clipping_mode: str = "None"
    act_rescaling_mode: str = "Fixed-point16"
    act_rescale_per_output: bool = False
    wt_per_channel: bool = True
    no_unsigned: bool = False
    calib: int = -1
    calib_reload: str = ""
    sqnr_samples: int = 32
    keep_float: tuple[str, ...] = ()
    nbbits_layer: tuple[tuple[str, int], ...] = ()

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("act_clipping_mode", _canonical(self.act_clipping_mode, ACT_CLIPPING_MODES,
                                             "activation clipping mode"))
        set_("wt_clipping_mode", _canonical(self.wt_clipping_mode, WT_CLIPPING_MODES,
                                            "weight clipping mode"))
        set_("act_rescaling_mode", canonical_rescaling_mode(self.act_rescaling_mode))
        for name in ("nbbits", "wt_nbbits", "calib", "sqnr_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"quantization option '{name}' must be an integer, got {value!r}")
        if not 2 <= self.nbbits <= 16:
            raise UsageError(f"nbbits must lie in 2..16, got {self.nbbits}")
        if self.wt_nbbits and not 2 <= self.wt_nbbits <= 16:
            raise UsageError(f"wt-nbbits must be 0 (same as nbbits) or lie in 2..16, "
                             f"got {self.wt_nbbits}")
        if not 0.0 < float(self.act_quantile_value) <= 1.0:
            raise UsageError(f"act-quantile-value must lie in (0, 1], got "
                             f"{self.act_quantile_value}")
        set_("act_quantile_value", float(self.act_quantile_value))
        if self.calib == 0 or self.calib < -1:
            raise UsageError(f"calib must be -1 (all samples) or a positive count, got {self.calib}")
        if self.sqnr_samples < 0:
            raise UsageError(f"sqnr-samples must be >= 0, got {self.sqnr_samples}")
        set_("keep_float", _names(self.keep_float, "keep-float"))
        set_("nbbits_layer", _layer_bits(self.nbbits_layer))
        both = sorted(set(self.keep_float) & {name for name, _ in self.nbbits_layer})
        if both:
            raise UsageError(f"layer '{both[0]}' is given both --keep-float and --nbbits-layer")


    @property
    def weight_bits(self) -> int:
        return self.wt_nbbits or self.nbbits

    @property
    def per_channel_weights(self) -> bool:
        return self.wt_per_channel or self.act_rescale_per_output

    @property
    def rescale_mode(self) -> str:
        """The IR ``rescale`` mode of ``act_rescaling_mode``."""
        return RESCALING_MODES[self.act_rescaling_mode]

    def for_layer(self, name: str) -> "QuantizationOptions":
        """These options as layer ``name`` sees them: its ``nbbits_layer`` bits, if any,
        for its activations and weights."""
        bits = dict(self.nbbits_layer).get(name)
        return self.replace(nbbits=bits, wt_nbbits=bits, nbbits_layer=()) if bits else self

    def replace(self, **changes) -> "QuantizationOptions":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_any(cls, options=None, **overrides) -> "QuantizationOptions":
        """Options from None, a QuantizationOptions, or a mapping (``-`` or ``_`` keys)."""
        if options is None:
            base = {}
        elif isinstance(options, QuantizationOptions):
            base = dataclasses.asdict(options)
        elif isinstance(options, dict):
            base = {str(k).replace("-", "_"): v for k, v in options.items()}
        else:
            raise UsageError(f"quantization options must be a QuantizationOptions or a dict, "
                             f"got {type(options).__name__}")
        base.update({k.replace("-", "_"): v for k, v in overrides.items()})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(base) - known)
        if unknown:
            raise UsageError(f"unknown quantization option{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**base)
