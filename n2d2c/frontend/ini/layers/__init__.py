"""One module per N2D2 layer family; each registers its ``Type=`` names here.

A lowering is ``fn(ctx: LayerContext) -> Value``.  It returns the layer's value
*before* its activation: the network builder applies ``ActivationFunction``
afterwards for the types registered with ``activation=True``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ....ir import Value
from ..context import LayerContext


@dataclass(frozen=True)
class LayerSpec:
    type: str
    lower: Callable[[LayerContext], Value]
    #: whether ``ActivationFunction`` applies to this layer type
    activation: bool
    #: whether several inputs are concatenated along channels before the layer
    #: (ElemWise combines them element-wise instead; ONNX binds them itself)
    concat: bool = True


LAYERS: dict[str, LayerSpec] = {}

#: N2D2 layer types that n2d2c recognises but cannot lower, with the reason.
KNOWN_UNSUPPORTED: dict[str, str] = {
    "Proposal": "the per-class box refinement after ROI pooling is not supported (Anchor, "
                "RP and ROIPooling are)",
    "ObjectDet": "object detection post-processing is data dependent",
    "LSTM": "recurrent layers are not supported",
    "FMP": "fractional max pooling draws random regions",
    "Rbf": "radial basis function layers are not supported",
    "Distance": "distance layers are not supported",
    "Transformation": "image transformations inside the network are not supported",
    "BatchNorm3d": "3-D layers are not supported",
}

_MODULES = ("conv", "pool", "dense", "normalization", "elementwise", "shape", "onnx_cell",
            "detection", "unpool")
_loaded = False


def layer(type_name: str, *, activation: bool = True, concat: bool = True):
    def register(fn):
        if type_name in LAYERS:
            raise TypeError(f"layer type {type_name!r} registered twice")
        LAYERS[type_name] = LayerSpec(type_name, fn, activation, concat)
        return fn
    return register


def load_layers() -> dict[str, LayerSpec]:
    global _loaded
    if not _loaded:
        for name in _MODULES:
            importlib.import_module(f"{__name__}.{name}")
        _loaded = True
    return LAYERS


def accepted_types() -> list[str]:
    return sorted(load_layers())
