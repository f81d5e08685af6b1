"""`equalize-weights`: cross-layer equalisation (Data-Free Quantization, Nagel et al.,
2019).

For two layers L1 → [activation] → L2 (Conv2d or Gemm with constant weights;
L2 may be depthwise or grouped), output channel i of L1 is divided by s_i and
input channel i of L2 multiplied by s_i, with s_i = sqrt(r1_i / r2_i) where r1_i
and r2_i are the largest |weight| of that channel in L1 and L2.  Both then have
range sqrt(r1_i · r2_i), which evens out the per-channel ranges a per-tensor
weight quantiser sees.  Sweeps over all pairs repeat until no s_i moves by more
than ``tolerance``, or ``max-iter`` sweeps.

Exactness: the activation f between the layers must give f(y / s) = f(y) / s.
ReLU, LeakyReLU and no activation do.  A bounded clamp such as ReLU6 does not:
clip(y / s, 0, 6) = clip(y, 0, 6 s) / s.  It stays exact if its bound becomes
6 / s_i per channel (channel_bounds.py), so with ``clip=per-channel`` (the
default) a Clip becomes relu/max then min with per-channel constant bounds, and
existing max/min-with-constant bounds are rescaled; with ``clip=skip`` pairs
through a bounded activation are left alone.  A fused activation on L1 must be
scale-invariant (run equalize-weights before fuse-activation).

``absorb-bias`` then moves c_i = max(0, lower bound of L1's pre-activation) from
L1's bias into L2's, where the bound comes from interval arithmetic over the
known range of L1's input (e.g. a ReLU6 before L1).  Exact because y >= c gives
relu(y) - c = relu(y - c) (upper bounds of the activation drop by c), and
because L2 is a conv without padding, so L2(x - c) + W2·c = L2(x) everywhere.
With no such bound nothing is absorbed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import UsageError
from ..ir import Graph, Operation
from ..ir.ops import Conv2d, Gemm, Min
from .base import Pass, PassResult, option
from .channel_bounds import (Bounds, chain_after, clamp_of, is_scale_invariant, value_bounds,
                             write_clamp)
from .pattern import constant_operands, is_float, replace_constant
from .registry import register_pass


class _Layer:
    """A Conv2d or Gemm with its weights and bias as float64 arrays being rescaled."""

    def __init__(self, op: Operation, arrays: list[np.ndarray]):
        self.op = op
        self.dtype = arrays[0].dtype
        self.w = arrays[0].astype(np.float64)
        self.b = arrays[1].astype(np.float64) if len(arrays) > 1 else None
        self.changed = False

    @property
    def is_conv(self) -> bool:
        return isinstance(self.op, Conv2d)

    # Output channels: conv w[M, C/g, kh, kw] rows; gemm columns of op(B).
    def out_ranges(self) -> np.ndarray:
        w = np.abs(self.w)
        if self.is_conv:
            return w.reshape(w.shape[0], -1).max(axis=1)
        return w.max(axis=self.op.b_input_axis)

    def scale_out(self, f: np.ndarray) -> None:
        if self.is_conv:
            self.w = self.w * f[:, None, None, None]
        else:
            self.w = self.w * np.expand_dims(f, self.op.b_input_axis)
        if self.b is not None:
            self.b = self.b * f  # conv bias [M]; gemm C broadcasts against [n]
        self.changed = True

    # Input channels: conv channel c sits at w[group(c), :, c mod C/g]; gemm rows of op(B).
    def grouped(self) -> np.ndarray:
        g = self.op.group
        m, cg = self.w.shape[:2]
        return self.w.reshape(g, m // g, cg, -1)

    def in_ranges(self) -> np.ndarray:
        if self.is_conv:
            return np.abs(self.grouped()).max(axis=(1, 3)).reshape(-1)
        w = np.abs(self.w)
        return w.max(axis=self.op.b_output_axis)

    def scale_in(self, f: np.ndarray) -> None:
        if self.is_conv:
            g = self.op.group
            self.w = (self.grouped() * f.reshape(g, 1, -1, 1)).reshape(self.w.shape)
        else:
            self.w = self.w * np.expand_dims(f, self.op.b_output_axis)
        self.changed = True


@dataclass
class _Pair:
    first: _Layer
    second: _Layer
    chain: list[Operation]  # activation elements between the layers, in order
    scale: np.ndarray       # product of the s_i applied so far


def _channel_ratio(ranges: np.ndarray) -> float:
    nz = ranges[ranges > 0]
    return float(nz.max() / nz.min()) if nz.size else 1.0


def _layer_scale_invariant(op: Operation) -> bool:
    """Whether L1's own fused activation commutes with positive channel scaling."""
    if op.activation in ("none", "relu", "leaky_relu"):
        return True
    return op.activation_min in (0.0, -math.inf) and op.activation_max == math.inf


@dataclass
class LayerRanges:
    """max/min ratio of a layer's per-output-channel weight ranges."""

    name: str
    before: float
    after: float


@dataclass
class EqualizeWeightsResult(PassResult):
    layers: list[LayerRanges] = field(default_factory=list)
    iterations: int = 0
    converged: bool = True


@register_pass
@dataclass(frozen=True)
class EqualizeWeights(Pass):
    """Cross-layer equalisation of per-channel weight ranges (Nagel et al. 2019)."""

    name = "equalize-weights"

    max_iter: int = option(20, "sweeps over all layer pairs at most")
    tolerance: float = option(1e-3, "stop when no scale moves by more than this")
    clip: Literal["per-channel", "skip"] = option(
        "per-channel", "bounded Clip (ReLU6) between layers: rewrite it with per-channel "
                       "bounds, or skip the pair")
    absorb_bias: bool = option(False, "move provably pass-through bias of L1 into L2")

    def __post_init__(self):
        super().__post_init__()
        if self.max_iter < 1:
            raise UsageError(f"option 'max-iter' of pass '{self.name}' must be >= 1, "
                             f"got {self.max_iter}")
        if not self.tolerance >= 0:
            raise UsageError(f"option 'tolerance' of pass '{self.name}' must be >= 0, "
                             f"got {self.tolerance}")

    def apply(self, graph: Graph) -> EqualizeWeightsResult:
        layers: dict[int, _Layer] = {}
        pairs = self._find_pairs(graph, layers)
        before = {key: _channel_ratio(layer.out_ranges()) for key, layer in layers.items()}
        iterations, converged = self._equalize(pairs)
        # Final per-channel bounds of the clamps between the layers.
        clamps: dict[int, Bounds] = {}
        for pair in pairs:
            for op in pair.chain:
                bounds = clamp_of(graph, op)
                if bounds is not None:
                    clamps[id(op)] = (bounds[0] / pair.scale, bounds[1] / pair.scale)
        absorbed = 0
        if self.absorb_bias:
            absorbed = sum(self._absorb(graph, pair, clamps) for pair in pairs)
        for layer in layers.values():
            if layer.changed:
                _write_back(graph, layer)
        rewritten = sum(write_clamp(graph, op, *clamps[id(op)])
                        for pair in pairs for op in pair.chain if id(op) in clamps)
        result = EqualizeWeightsResult(
            statistics={"pairs": len(pairs), "iterations": iterations,
                        "activations-rewritten": rewritten, "absorbed-channels": absorbed},
            layers=[LayerRanges(layer.op.name, before[key], _channel_ratio(layer.out_ranges()))
                    for key, layer in layers.items()],
            iterations=iterations, converged=converged)
        result.report = _format_report(result)
        return result

    def _equalize(self, pairs: list[_Pair]) -> tuple[int, bool]:
        """Sweep over the pairs; return (sweeps done, converged)."""
        if not pairs:
            return 0, True
        for sweep in range(1, self.max_iter + 1):
            worst = 0.0
            for pair in pairs:
                r1, r2 = pair.first.out_ranges(), pair.second.in_ranges()
                s = np.ones_like(r1)
                ok = (r1 > 0) & (r2 > 0)
                s[ok] = np.sqrt(r1[ok] / r2[ok])
                pair.first.scale_out(1.0 / s)
                pair.second.scale_in(s)
                pair.scale *= s
                worst = max(worst, float(np.max(np.abs(s - 1.0), initial=0.0)))
            if worst <= self.tolerance:
                return sweep, True
        return self.max_iter, False

    # -- finding pairs ------------------------------------------------------------
    def _find_pairs(self, graph: Graph, layers: dict[int, _Layer]) -> list[_Pair]:
        pairs = []
        for op in graph.ops:
            if not isinstance(op, (Conv2d, Gemm)) or not _layer_scale_invariant(op):
                continue
            chain, value = chain_after(graph, op.output)
            if self.clip == "skip" and not all(is_scale_invariant(graph, e) for e in chain):
                continue
            users = graph.users(value)
            if len(users) != 1 or users[0][1] != 0 or graph.is_output(value):
                continue
            user = users[0][0]
            if isinstance(user, Gemm) and user.trans_a:
                continue  # L1's channels would be L2's rows, not its input features
            first, second = _layer(graph, op, layers), _layer(graph, user, layers)
            if first is None or second is None:
                continue
            layers[id(op)], layers[id(user)] = first, second
            channels = first.out_ranges().shape[0]
            pairs.append(_Pair(first, second, chain, np.ones(channels)))
        return pairs

    # -- bias absorption -------------------------------------------------------------
    @staticmethod
    def _absorb(graph: Graph, pair: _Pair, clamps: dict[int, Bounds]) -> int:
        """Move bias from L1 to L2 where that is exact; return how many channels moved."""
        first, second, chain = pair.first, pair.second, pair.chain
        if not (first.is_conv and second.is_conv) or any(second.op.pads):
            return 0
        if first.op.activation != "none" or not _absorbable(chain, clamps):
            return 0
        lo, hi = value_bounds(graph, first.op.inputs[0], clamps)
        if any(first.op.pads):  # padded zeros are inputs too
            lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
        g = first.op.group
        w = first.grouped()                      # [g, M/g, C/g, k]
        lo, hi = lo.reshape(g, 1, -1, 1), hi.reshape(g, 1, -1, 1)
        with np.errstate(invalid="ignore"):
            low = np.where(w > 0, w * lo, 0.0) + np.where(w < 0, w * hi, 0.0)
        bias = first.b if first.b is not None else np.zeros(first.w.shape[0])
        bound = bias + low.sum(axis=(2, 3)).reshape(-1)
        c = np.where(np.isfinite(bound), np.maximum(bound, 0.0), 0.0)
        for op in chain:  # keep every upper bound >= 0 after it drops by c
            c = np.minimum(c, clamps[id(op)][1])
        if not np.any(c > 0):
            return 0
        first.b = bias - c
        correction = (second.grouped() * c.reshape(second.op.group, 1, -1, 1)).sum(axis=(2, 3))
        second.b = (second.b if second.b is not None else 0.0) + correction.reshape(-1)
        first.changed = second.changed = True
        for op in chain:
            clamps[id(op)] = (clamps[id(op)][0], clamps[id(op)][1] - c)
        return int(np.count_nonzero(c))


def _absorbable(chain: list[Operation], clamps: dict[int, Bounds]) -> bool:
    """Chains f with f(y) - c = f'(y - c) for y >= c >= 0, f' = f with upper bounds
    lowered by c: nothing, or a clamp at 0 (relu, clip(0, ·), max(·, 0)) then mins."""
    if not chain:
        return True
    head = chain[0]
    if id(head) not in clamps or not np.all(clamps[id(head)][0] == 0):
        return False
    return all(isinstance(op, Min) for op in chain[1:])


def _layer(graph: Graph, op: Operation, layers: dict[int, _Layer]) -> _Layer | None:
    if id(op) in layers:
        return layers[id(op)]
    if not isinstance(op, (Conv2d, Gemm)) or not is_float(op.output):
        return None
    arrays = constant_operands(graph, op, 1)
    return _Layer(op, arrays) if arrays is not None else None


def _write_back(graph: Graph, layer: _Layer) -> None:
    op = layer.op
    replace_constant(graph, op, 1, layer.w.astype(layer.dtype), f"{op.name}.w")
    if layer.b is not None:
        replace_constant(graph, op, 2, np.asarray(layer.b).astype(layer.dtype), f"{op.name}.b")


def _format_report(result: EqualizeWeightsResult) -> str:
    state = "converged" if result.converged else "stopped at max-iter"
    lines = [f"equalize-weights: {result.statistics['pairs']} layer pairs, "
             f"{result.iterations} sweeps ({state})",
             f"  {'layer':<24} {'range ratio before':>18} {'after':>10}"]
    for layer in result.layers:
        lines.append(f"  {layer.name:<24} {layer.before:18.3g} {layer.after:10.3g}")
    return "\n".join(lines)
