"""N2D2 Target sections at inference: what an output means and how it is scored.

A ``Target`` holds the section's parameters (``TargetValue``, ``DefaultValue``, ``TopN``,
``BinaryThreshold``, ``LabelsMapping``, ``WeakTarget``, ``NoDisplayLabel``, masking) and
turns network outputs into estimated targets:

* several outputs (per pixel): the ``TopN`` best outputs, best first;
* one output (logistic): target 1 when the value exceeds ``BinaryThreshold``, else 0;
* masking: with ``MaskLabelTarget`` and ``MaskedLabel >= 0`` only the positions where
  the mask target estimates ``MaskedLabel`` count (``MaskedLabelValue``: values are
  weighted by the mask's value there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import ShapeError, UnsupportedError, UsageError
from ...util.flags import is_true_word
from .labels import IGNORE

#: Target types that score a classifier or a segmentation network at inference.
SCORED_TYPES = ("Target", "TargetScore", "TargetROIs")
NOT_EVALUATED = ("TargetBBox", "TargetRP", "TargetMatching", "TargetCompare",
                 "TargetAggregate")


@dataclass
class Target:
    """One ``[<cell>.Target]`` section (N2D2's defaults)."""
    name: str = "output.Target"
    type: str = "TargetScore"
    target_value: float = 1.0
    # N2D2's INI default is 0.0 (TargetGenerator); the Target page's "-1.0" is the C++
    # class's constructor default, which INI files never reach.
    default_value: float = 0.0
    top_n: int = 1
    binary_threshold: float = 0.5
    labels_mapping: str | None = None
    weak_target: int = -2
    no_display_label: int = -1
    mask_label_target: str | None = None
    masked_label: int = -1
    masked_label_value: bool = False
    value_threshold: float = 0.0
    labels_hue_offset: int = 0                 # label map images: hue of target 0
    estimated_labels_value_display: bool = True   # brightness = the estimated value
    properties: dict = field(default_factory=dict)   # the section's, for type-specific ones

    _PROPERTIES = {"TargetValue": ("target_value", float), "DefaultValue": ("default_value", float),
                   "TopN": ("top_n", int), "BinaryThreshold": ("binary_threshold", float),
                   "WeakTarget": ("weak_target", int), "NoDisplayLabel": ("no_display_label", int),
                   "MaskLabelTarget": ("mask_label_target", str),
                   "MaskedLabel": ("masked_label", int),
                   "MaskedLabelValue": ("masked_label_value", is_true_word),
                   "ValueThreshold": ("value_threshold", float),
                   "LabelsHueOffset": ("labels_hue_offset", int),
                   "EstimatedLabelsValueDisplay": ("estimated_labels_value_display", is_true_word)}

    @classmethod
    def from_section(cls, entry: dict) -> "Target":
        """From a ``graph.metadata["targets"]`` entry (frontend/ini/targets.py)."""
        properties = entry.get("properties", {})
        kind = entry.get("type", "TargetScore")
        if kind in NOT_EVALUATED:
            raise UnsupportedError(f"[{entry.get('section')}] Type={kind} is not evaluated by "
                                   f"n2d2c (only {', '.join(SCORED_TYPES)})")
        if is_true_word(properties.get("DataAsTarget", "0")):
            raise UnsupportedError(f"[{entry.get('section')}] DataAsTarget=1 (auto-encoder "
                                   f"targets) is not evaluated by n2d2c")
        values = {}
        for key, (attr, convert) in cls._PROPERTIES.items():
            if key in properties:
                try:
                    values[attr] = convert(properties[key])
                except ValueError:
                    raise UsageError(f"[{entry.get('section')}]{key}={properties[key]!r} is not "
                                     f"a valid {convert.__name__}",
                                     location=entry.get("location")) from None
        return cls(name=entry.get("section", "output.Target"), type=kind,
                   labels_mapping=entry.get("labels_mapping"), properties=dict(properties),
                   **values)

    def target_vector(self, targets: np.ndarray, outputs: int) -> np.ndarray:
        """The output N2D2 trains towards: TargetValue at the target's output, DefaultValue
        elsewhere ([N, C, *spatial] from targets [N, *spatial]; one output: the target
        value for 1 and the default value for 0).  Ignored positions are NaN."""
        t = np.asarray(targets, dtype=np.int64)
        if outputs == 1:
            vector = np.where(t == 1, self.target_value, self.default_value)[:, None]
        else:
            hot = np.moveaxis(np.eye(outputs, dtype=bool)[np.maximum(t, 0)], -1, 1)
            vector = np.where(hot, self.target_value, self.default_value)
        return np.where(np.expand_dims(t == IGNORE, 1), np.nan, vector.astype(np.float64))

    def estimate(self, output) -> tuple[np.ndarray, np.ndarray]:
        """(targets, values): the estimated targets [N, TopN, *spatial], best first, and
        their output values, from an output [N, C, *spatial]."""
        out = np.asarray(output, dtype=np.float64)
        if out.ndim < 2:
            raise ShapeError(f"target output of shape {out.shape}: expected [N, C, ...]")
        if out.shape[1] == 1:
            value = out[:, :1]
            return (value > self.binary_threshold).astype(np.int64), value
        if self.top_n > out.shape[1]:
            raise UsageError(f"[{self.name}]TopN={self.top_n} exceeds the {out.shape[1]} "
                             f"outputs")
        order = np.argsort(-out, axis=1, kind="stable")[:, :self.top_n]
        return order, np.take_along_axis(out, order, axis=1)


def mask_positions(estimated: np.ndarray, values: np.ndarray, mask_estimated: np.ndarray,
                   mask_values: np.ndarray, *, masked_label: int,
                   weigh_by_value: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply ``MaskLabelTarget``/``MaskedLabel``: (estimated, values, considered) where
    ``considered`` [N, *spatial] is True where the mask target's best estimate is
    ``masked_label`` (everywhere when masked_label < 0); with ``weigh_by_value`` the values
    are multiplied by the mask target's value of that label."""
    considered = np.ones(estimated.shape[:1] + estimated.shape[2:], bool)
    if masked_label < 0:
        return estimated, values, considered
    if mask_estimated.shape[:1] + mask_estimated.shape[2:] != considered.shape:
        raise ShapeError(f"mask target estimates {mask_estimated.shape} do not cover the "
                         f"target's {estimated.shape}")
    considered = mask_estimated[:, 0] == masked_label
    if weigh_by_value:
        values = values * np.expand_dims(np.where(considered, mask_values[:, 0], 0.0), 1)
    return estimated, values, considered
