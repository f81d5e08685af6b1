"""What a layer lowering sees: its properties, its inputs and helpers to emit ops.

Every N2D2 cell output is an NCHW tensor.  ``Fc`` outputs are kept 2-D
(``[N, C]``, i.e. H = W = 1), which is what an ONNX model would produce; layers
that need 4-D inputs reshape them to ``[N, C, 1, 1]``.  Ops made for section
``s`` are named ``s/<what>``; the section's final value is renamed ``s`` by the
network builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ...errors import InputError
from ...ir import Operation, Value
from ...ir import ops as O
from .props import LayerProps

if TYPE_CHECKING:
    from .network import NetworkBuilder


def nchw(value: Value) -> tuple[int, int, int, int]:
    """(N, C, H, W) of a cell output; 2-D ``[N, C]`` counts as H = W = 1."""
    shape = value.shape
    if len(shape) == 4:
        return shape  # type: ignore[return-value]
    if len(shape) == 2:
        return (shape[0], shape[1], 1, 1)
    raise InputError(f"value %{value.name} has shape {list(shape)}; N2D2 cells produce 2-D or "
                     "4-D (NCHW) tensors")


@dataclass
class LayerContext:
    """One layer section being lowered."""

    builder: "NetworkBuilder"
    name: str
    type: str
    props: LayerProps
    input_names: list[str]
    inputs: list[Value]
    #: metadata recorded for this layer (graph.metadata["layers"][name])
    info: dict = field(default_factory=dict)

    # -- emitting -------------------------------------------------------------------

    @property
    def graph(self):
        return self.builder.graph

    def emit(self, op: Operation, inputs: Sequence[Value], tag: str) -> Value:
        op.name = f"{self.name}/{tag}"
        return self.graph.add(op, list(inputs), [op.name]).output

    def const(self, array: np.ndarray, tag: str) -> Value:
        return self.graph.constant(np.ascontiguousarray(array), f"{self.name}/{tag}")

    # -- inputs ------------------------------------------------------------------------

    def as4d(self, value: Value) -> Value:
        if value.type.rank == 4:
            return value
        n, c, h, w = nchw(value)
        return self.emit(O.Reshape(shape=(n, c, h, w)), [value], f"to4d_{value.name}")

    def flat(self, value: Value) -> Value:
        """``[N, C*H*W]`` (NCHW order, as N2D2 flattens a cell output)."""
        if value.type.rank == 2:
            return value
        n, c, h, w = nchw(value)
        return self.emit(O.Reshape(shape=(n, c * h * w)), [value], f"flat_{value.name}")

    def single_input(self) -> Value:
        if len(self.inputs) != 1:
            raise self.props.error("Input", f"a {self.type} layer takes one input, got "
                                            f"{len(self.inputs)} ({', '.join(self.input_names)})")
        return self.inputs[0]

    def concat_inputs(self, *, four_d: bool = True) -> Value:
        """The inputs concatenated along channels (N2D2's implicit ``Input=a,b``)."""
        values = [self.as4d(v) if four_d else v for v in self.inputs]
        if len(values) == 1:
            return values[0]
        ranks = {v.type.rank for v in values}
        if len(ranks) > 1:
            values = [self.as4d(v) for v in values]
        spatial = {tuple(v.shape[2:]) for v in values}
        if len(spatial) > 1:
            sizes = ", ".join(f"[{n}] {'x'.join(map(str, v.shape[2:][::-1]))}"
                              for n, v in zip(self.input_names, values))
            raise self.props.error("Input", f"inputs concatenated along channels must have the "
                                            f"same width and height, got {sizes}")
        return self.emit(O.Concat(axis=1), values, "concat")

    def channels_of_inputs(self) -> list[tuple[str, int]]:
        return [(n, nchw(v)[1]) for n, v in zip(self.input_names, self.inputs)]

    # -- sizes ----------------------------------------------------------------------------

    def nb_outputs(self, default=None) -> int:
        if default is None:
            return self.props.positive("NbOutputs")
        return self.props.positive("NbOutputs", default)

    def check_nb_outputs(self, produced: int) -> None:
        """``NbOutputs``, when given, must equal the channels the layer produces."""
        if "NbOutputs" in self.props:
            declared = self.props.positive("NbOutputs")
            if declared != produced:
                raise self.props.error("NbOutputs", f"is {declared}, but the layer produces "
                                                    f"{produced} channels")

    def check_param_size(self, shape: Sequence[int], what: str) -> None:
        from .parameters import check_size
        check_size(self.props, shape, self.builder.max_param_bytes, what)

    # -- parameters ----------------------------------------------------------------------

    def kernel_params(self, mask: np.ndarray, kernel: tuple[int, int], *, bias: bool,
                      transposed: bool, groups: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-output kernels ``[M, C/groups, kh, kw]`` and biases ``[M]`` (or None).

        With ``groups == 1`` the kernels span every input channel and are zero
        where the mapping has no connection.  Values come from the parameter
        source when there is one, else from the layer's fillers.
        """
        from .fillers import fill
        from .parameters import LayerParameters

        channels, outputs = mask.shape
        kh, kw = kernel
        shape = (outputs, channels // groups, kh, kw)
        self.check_param_size(shape, "weights")
        store = self.builder.store
        if store is not None:
            return LayerParameters(store, self.props).kernels(
                mask, kernel, bias, transposed=transposed, groups=groups)
        if self.builder.init == "zeros":
            return np.zeros(shape, np.float32), (np.zeros(outputs, np.float32) if bias else None)
        fan_in = int(mask.sum(axis=0).max(initial=1)) * kh * kw
        fan_out = int(mask.sum(axis=1).max(initial=1)) * kh * kw
        if transposed:
            fan_in, fan_out = fan_out, fan_in
        seed = self.builder.seed
        w = fill(self.props, "WeightsFiller", shape, fan_in=fan_in, fan_out=fan_out, seed=seed)
        if groups == 1 and not mask.all():
            w *= mask.T[:, :, None, None]
        b = fill(self.props, "BiasFiller", (outputs,), fan_in=fan_in, fan_out=fan_out,
                 seed=seed) if bias else None
        return w, b

    def dense_params(self, outputs: int, inputs: int, *,
                     bias: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """``W[outputs, inputs]`` and biases of a fully connected layer."""
        from .fillers import fill
        from .parameters import LayerParameters

        self.check_param_size((outputs, inputs), "weights")
        store = self.builder.store
        if store is not None:
            return LayerParameters(store, self.props).dense(outputs, inputs, bias)
        if self.builder.init == "zeros":
            return (np.zeros((outputs, inputs), np.float32),
                    np.zeros(outputs, np.float32) if bias else None)
        seed = self.builder.seed
        w = fill(self.props, "WeightsFiller", (outputs, inputs), fan_in=inputs, fan_out=outputs,
                 seed=seed)
        b = fill(self.props, "BiasFiller", (outputs,), fan_in=inputs, fan_out=outputs,
                 seed=seed) if bias else None
        return w, b

    def batchnorm_params(self, channels: int) -> dict[str, np.ndarray]:
        """``scales``, ``biases``, ``means``, ``variances`` (untrained: 1, 0, 0, 1)."""
        from .parameters import LayerParameters

        store = self.builder.store
        if store is not None:
            return LayerParameters(store, self.props).batchnorm(channels)
        return {"scales": np.ones(channels, np.float32), "biases": np.zeros(channels, np.float32),
                "means": np.zeros(channels, np.float32),
                "variances": np.ones(channels, np.float32)}
