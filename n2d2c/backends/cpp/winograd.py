"""Winograd convolutions F(2,3) and F(4,3) for the C++ target (``winograd_conv2d.j2``).

A 3x3, stride-1, dilation-1, ungrouped float convolution with constant weights computes each
m x m output tile (m = 2 or 4) from an a x a input tile (a = m + 2) as
``Y = A^T [ (G g G^T) . (B^T d B) ] A`` (Lavin & Gray's minimal filtering): the a*a products
of the transform domain replace 9*m*m multiply-adds per channel pair, 2.25x fewer for
F(2,3), 4x fewer for F(4,3).  Over C input and M output channels the element-wise product
becomes one GEMM per transform point (16 or 36): [tiles x C] x [C x M].

* weights: ``G g G^T`` is computed here, in float64 then rounded to float32, and laid out
  [point][M/16][C][16] (M padded to 16) so that the GEMM's register tiles (tiles x channel
  vectors, as in conv2d_direct) read contiguous streams;
* input transform: per tile and channel vector, zeros where the tile crosses the border (no
  padded copy of the input); the transformed tiles of a block of tiles go to a scratch
  buffer [point][tile][C padded to 16], the GEMM results to another [point][tile][M/16*16];
* output transform: per tile and channel vector, bias and activation fused, stores into any
  pixel/row strides (e.g. a slice of a Concat buffer);
* threads: one OpenMP region per layer; for each block of tiles the three phases share
  their items among the threads (a barrier between phases).

Error.  Against the exact result, direct summation in float32 errs by at most about
``9C u S`` and typically ``sqrt(9C) u S`` (u = 2^-24, S = sum|w||x| over the output's
window).  Winograd adds the rounding of the transforms, amplified by the size of their
coefficients: alpha = max over outputs and (tap, input) pairs of the sum over transform
points of |A^T| |G| |B^T|, squared for 2-D (``amplification()``), is 4.0 for F(2,3) and 114
for F(4,3); the error is then of order ``alpha u`` times a sum of |w||x| products.  Measured
(``reference()`` in float32 against float64, the op-variant set of the tests): at most
0.73 alpha u S for F(2,3) (2.9 u S, 1.7e-7 S: like direct) and 0.17 alpha u S for F(4,3)
(20 u S, 1.2e-6 S).  The tests allow ``(2 alpha + 2 sqrt(9C)) u S`` (the transforms, plus
the direct errors of both sides) against onnxruntime; a coefficient wrong by 1e-4 fails
them.  ``auto`` picks F(4,3) where the cost model says it is cheapest; ``-X winograd=f23``
or ``off`` trades speed for error.

Choice per layer (``choose``): ``-X winograd=off|auto|f23|f43`` for every layer, or entries
``NAME:MODE`` (comma-separated) for named layers; else the tune file's choice
(``emitter.kernel_choice``); else ``auto``: a cost model (multiply-adds plus weight traffic)
comparing direct, F(2,3) and F(4,3).
"""

from __future__ import annotations

import numpy as np

from ...errors import UsageError

PAD_CHANNELS = 16
VARIANTS = ("f23", "f43")
MODES = ("off", "auto") + VARIANTS
# Floats of the two scratch buffers of one block of tiles (about 2 MB: they stay in L2/L3).
BLOCK_FLOATS = 1 << 19
VECTOR_ACTIVATIONS = (None, "relu", "leaky_relu", "clip")

# Transform matrices (correlation form): F(2,3) on points 0, 1, -1, inf; F(4,3) on
# 0, 1, -1, 2, -2, inf.
_BT = {
    "f23": [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    "f43": [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
            [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
}
_G = {
    "f23": [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]],
    "f43": [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
            [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
}
_AT = {
    "f23": [[1, 1, 1, 0], [0, 1, -1, -1]],
    "f43": [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
            [0, 1, -1, 8, -8, 1]],
}


def matrices(variant: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B^T, G, A^T) of ``variant`` in float64."""
    return (np.array(_BT[variant], np.float64), np.array(_G[variant], np.float64),
            np.array(_AT[variant], np.float64))


def output_tile(variant: str) -> int:
    return 2 if variant == "f23" else 4


def amplification(variant: str) -> float:
    """max over outputs i and (tap k, input l) of sum_t |A^T[i,t]| |G[t,k]| |B^T[t,l]|,
    squared for 2-D: how much the transforms can magnify rounding errors."""
    bt, g, at = (np.abs(m) for m in matrices(variant))
    one_d = np.einsum("it,tk,tl->ikl", at, g, bt).max()
    return float(one_d ** 2)


def transform_weights(weights: np.ndarray, variant: str) -> np.ndarray:
    """[M][C][3][3] -> U [a*a][M][C] = G g G^T, computed in float64, rounded to float32."""
    _, g, _ = matrices(variant)
    u = np.einsum("ik,mckl,jl->ijmc", g, np.asarray(weights, np.float64), g)
    a = g.shape[0]
    return u.reshape(a * a, *weights.shape[:2]).astype(np.float32)


def reference(x: np.ndarray, weights: np.ndarray, variant: str, pads=(0, 0, 0, 0),
              dtype=np.float32) -> np.ndarray:
    """Winograd correlation of one NCHW image batch in ``dtype`` (for error measurements):
    the same transforms and order of operations as the generated code, up to summation
    order."""
    bt, _, at = (m.astype(dtype) for m in matrices(variant))
    n, c, h, w = x.shape
    mo = output_tile(variant)
    a = mo + 2
    oh, ow = h + pads[0] + pads[2] - 2, w + pads[1] + pads[3] - 2
    th, tw = -(-oh // mo), -(-ow // mo)
    xp = np.zeros((n, c, th * mo + 2, tw * mo + 2), dtype)
    hh, ww = min(h, xp.shape[2] - pads[0]), min(w, xp.shape[3] - pads[1])
    xp[:, :, pads[0]:pads[0] + hh, pads[1]:pads[1] + ww] = x[:, :, :hh, :ww]
    u = transform_weights(weights, variant).astype(dtype).reshape(a, a, -1, c)
    y = np.zeros((n, weights.shape[0], th * mo, tw * mo), dtype)
    for i in range(th):
        for j in range(tw):
            d = xp[:, :, i * mo:i * mo + a, j * mo:j * mo + a]
            v = np.einsum("ik,nckl,jl->ijnc", bt, d, bt)
            prod = np.einsum("ijnc,ijmc->ijnm", v, u)
            y[:, :, i * mo:(i + 1) * mo, j * mo:(j + 1) * mo] = \
                np.einsum("ki,ijnm,lj->nmkl", at, prod, at)
    return y[:, :, :oh, :ow]


# -- applicability and choice ---------------------------------------------------------

def winograd_candidates(call) -> list[str]:
    """The Winograd variants that can compute ``call`` (a conv2d KernelCall): [] unless it
    is a 3x3 stride-1 dilation-1 ungrouped float convolution with constant weights and bias,
    channels contiguous, and an activation with a vector form."""
    if call.kernel != "conv2d":
        return []
    p = call.params
    x, y = call.reads["x"], call.writes["y"]
    act = p.get("act")
    ok = (p.get("weights") is not None and "b" not in call.reads and "w" not in call.reads
          and x.storage.dtype == "float32" and y.storage.dtype == "float32"
          and p.get("rescale") is None
          and tuple(p["kernel"]) == (3, 3) and tuple(p["strides"]) == (1, 1)
          and tuple(p["dilations"]) == (1, 1) and p["group"] == 1
          and x.strides[1] in (0, 1) and y.strides[1] in (0, 1)
          and (act is None or act.kind in VECTOR_ACTIVATIONS))
    return list(VARIANTS) if ok else []


def parse_modes(text) -> tuple[str, dict[str, str]]:
    """``-X winograd=...``: the mode of every layer and per-layer modes (NAME:MODE)."""
    default, named = "auto", {}
    for entry in str(text or "auto").replace(" ", "").split(","):
        if not entry:
            continue
        name, _, mode = entry.rpartition(":")
        mode = mode.lower()
        if mode not in MODES:
            raise UsageError(f"option 'winograd' of backend cpp: {entry!r}; modes are "
                             f"{', '.join(MODES)}, for every layer or as NAME:MODE")
        if name:
            named[name] = mode
        else:
            default = mode
    return default, named


# Multiply-adds one weight float read costs in the model: a GEMM over few tiles reuses each
# weight vector only that many times and is bound by the loads (measured on ResNet-18@64:
# F(4,3) on 8x8 images of 128 channels, 4 tiles, and F(2,3) on 4x4 images of 256, ran no
# faster than direct; the 16x16 images of 64 channels, 16 tiles, ran 2x faster).
WEIGHT_FLOAT_COST = 16


def _cost(call, variant: str | None) -> float:
    """Multiply-adds plus weight floats read (times WEIGHT_FLOAT_COST): a model to rank
    direct against the two variants."""
    n, c, _, _ = call.reads["x"].shape
    _, m, oh, ow = call.writes["y"].shape
    mp = -(-m // PAD_CHANNELS) * PAD_CHANNELS
    if variant is None:
        return n * oh * ow * 9 * c * mp + 9 * c * mp * WEIGHT_FLOAT_COST
    mo = output_tile(variant)
    points = (mo + 2) ** 2
    tiles = n * -(-oh // mo) * -(-ow // mo)
    transforms = tiles * points * (c + mp) * (3 if variant == "f23" else 6)
    return tiles * points * c * mp + transforms + points * c * mp * WEIGHT_FLOAT_COST


def auto_variant(call) -> str | None:
    """The cheapest of direct, F(2,3), F(4,3) by ``_cost``; direct for few channels (the
    transforms dominate), and unless Winograd wins by 20 %."""
    _, c, _, _ = call.reads["x"].shape
    _, m, oh, ow = call.writes["y"].shape
    if c < 16 or m < 16 or oh < 2 or ow < 2:
        return None
    direct = _cost(call, None)
    best = min(VARIANTS, key=lambda v: _cost(call, v))
    return best if _cost(call, best) * 1.2 < direct else None


def choose(emitter, call, layer) -> str | None:
    """The variant for ``layer`` (None: direct), see the module docstring."""
    candidates = winograd_candidates(call)
    if not candidates:
        return None
    default, named = parse_modes(emitter.winograd)
    mode = named.get(layer.name, default)
    if mode == "auto" and layer.name not in named:
        choice = emitter.kernel_choice(layer.name)
        if choice.get("kernel") == "direct":
            return None
        if choice.get("kernel") == "winograd" and choice.get("variant") in candidates:
            return choice["variant"]
    if mode == "off":
        return None
    if mode == "auto":
        return auto_variant(call)
    return mode if mode in candidates else None


# -- preparation ----------------------------------------------------------------------

def prepare_winograd(emitter, call, layer):
    """("winograd_conv2d", ctx) when ``layer`` runs as a Winograd convolution, else None."""
    variant = choose(emitter, call, layer)
    act = call.params.get("act")
    if variant is None or emitter.vector_activation(act) is None:
        return None
    k = emitter._conv_common(call, False)
    mo = output_tile(variant)
    a = mo + 2
    points = a * a
    k.variant, k.mt, k.a, k.points = variant, mo, a, points
    k.layer = layer.name
    k.struct = emitter.symbol(f"{layer.name}_wino")
    k.cp = -(-k.c // PAD_CHANNELS) * PAD_CHANNELS
    k.mp = -(-k.m // PAD_CHANNELS) * PAD_CHANNELS
    k.th, k.tw = -(-k.oh // mo), -(-k.ow // mo)
    k.ntiles = k.n * k.th * k.tw
    k.tb = max(1, min(k.ntiles, BLOCK_FLOATS // (points * (k.cp + k.mp))))
    k.tb_last = k.ntiles % k.tb or k.tb
    k.nblocks = -(-k.ntiles // k.tb)
    # U [point][M/16][C][16], zero-padded output channels.
    u = np.zeros((points, k.mp, k.c), np.float32)
    u[:, :k.m] = transform_weights(call.params["weights"], variant)
    u = u.reshape(points, k.mp // PAD_CHANNELS, PAD_CHANNELS, k.c).transpose(0, 1, 3, 2)
    k.w = emitter.add_const(f"w_{layer.name}", u, f"Winograd {variant} weights of {layer.name}, "
                                                  "G g G^T [point][M/16][C][16]")
    k.b = emitter._padded_bias(call.params.get("bias"), call, layer, 1, k.m, k.mp)
    k.vin = emitter.pointer(emitter.scratch(layer, "wino_in", points * k.tb * k.cp))
    k.vout = emitter.pointer(emitter.scratch(layer, "wino_out", points * k.tb * k.mp))
    work = k.ntiles * points * k.c * k.mp
    k.region, k.loop = emitter.parallel_region(work)
    _, k.loop2 = emitter.parallel_region(work, collapse=2)
    emitter._epilogue(k)
    # Recorded in tune.json with the direct layers' tiles (the autotuner reads it back).
    emitter.chosen[layer.name] = {"kernel": "winograd", "variant": variant}
    return "winograd_conv2d", k


__all__ = ["MODES", "VARIANTS", "amplification", "auto_variant", "choose", "matrices",
           "parse_modes", "prepare_winograd", "reference", "transform_weights",
           "winograd_candidates"]
