"""Resource limits applied while loading any model (raised with --max-* flags)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ResourceLimitError
from .ini.limits import IniLimits
from .onnx import DEFAULT_MAX_CONSTANT_BYTES


@dataclass(frozen=True)
class LoadLimits:
    #: bytes of one constant (weights), checked against the declared size before reading.
    max_constant_bytes: int = DEFAULT_MAX_CONSTANT_BYTES
    #: operations in the lowered graph.
    max_graph_ops: int = 200_000
    ini: IniLimits = field(default_factory=IniLimits)


def check_graph_size(graph, limits: LoadLimits) -> None:
    if len(graph.ops) > limits.max_graph_ops:
        raise ResourceLimitError(
            f"the model lowers to {len(graph.ops)} operations, over the limit of "
            f"{limits.max_graph_ops}", hint="raise it with --max-graph-ops=N if the input is trusted")
