"""The DSP kernel of int8 dense convolutions and dense layers (templates/stm32/conv_dsp.j2),
built with arm-none-eabi-gcc -Werror and run under qemu-system-arm: bit for bit the
integer simulator's results.

The cases walk the kernel's paths: channel counts that are and are not multiples of four
(the word-by-word window copy, or value by value with K padded to a multiple of four:
unrolled for small windows, positions computed for big ones),
group counts that the unrolled reduction divides or leaves a remainder of, the copy's
loop of four groups a pass, odd output channel counts (a padding channel), odd row
widths (a one-pixel block), strides, asymmetric and no padding, a dilation, uint8 and
int8 inputs, with and without bias, int32 accumulators observed and a fused per-channel
fixed-point rescale; dense layers of one row and of several (pixel pairs).
"""

from __future__ import annotations

import numpy as np
import pytest

from backend_cpp.test_quantized import QCase, assert_matches_simulator, observe_integers
from n2d2c.ir import Graph, TensorType, ops

from .firmware import require_arm
from .test_stm32_target import CORES, DSP_CORES, _build_integer


def _rescale(rng, g, acc, m):
    y = g.add(ops.Rescale(name="rs", mode="fixed-point16",
                          multipliers=tuple(int(v) for v in rng.integers(9000, 30000, m)),
                          shifts=(22,) * m), [acc]).output
    return g.add(ops.Dequantize(name="out", scale=0.1), [y]).output


def _cases() -> list[QCase]:
    rng = np.random.default_rng(1616)
    cases = []

    def conv(name, shape, m, dtype="i8", kernel=(3, 3), pads=(1, 1, 1, 1), strides=(1, 1),
             dilations=(1, 1), bias=True, fused=False):
        c = shape[1]
        g = Graph(name)
        x = g.add_input("x", TensorType(shape))
        q = g.add(ops.Quantize(name="q", scale=0.05, dtype=dtype), [x]).output
        inputs = [q, g.constant(rng.integers(-128, 128, (m, c, *kernel)).astype(np.int8), "w")]
        if bias:
            inputs.append(g.constant(rng.integers(-3000, 3000, m).astype(np.int32), "b"))
        acc = g.add(ops.Conv2d(name="conv", pads=pads, strides=strides, dilations=dilations),
                    inputs).output
        if fused:
            g.outputs = [_rescale(rng, g, acc, m)]
        else:
            g.outputs = [g.add(ops.Dequantize(name="out", scale=1.0), [acc]).output]
        lo, hi = (0, 12) if dtype == "u8" else (-6, 6)
        cases.append(QCase(name, g if fused else observe_integers(g),
                           {"x": rng.uniform(lo, hi, shape).astype(np.float32)}))

    def dense(name, rows, k, n, dtype="i8", bias=True, fused=False):
        g = Graph(name)
        x = g.add_input("x", TensorType((rows, k)))
        q = g.add(ops.Quantize(name="q", scale=0.05, dtype=dtype), [x]).output
        inputs = [q, g.constant(rng.integers(-128, 128, (n, k)).astype(np.int8), "w")]
        if bias:
            inputs.append(g.constant(rng.integers(-3000, 3000, n).astype(np.int32), "b"))
        acc = g.add(ops.Gemm(name="fc", trans_b=True), inputs).output
        if fused:
            g.outputs = [_rescale(rng, g, acc, n)]
        else:
            g.outputs = [g.add(ops.Dequantize(name="out", scale=1.0), [acc]).output]
        lo, hi = (0, 12) if dtype == "u8" else (-6, 6)
        cases.append(QCase(name, g if fused else observe_integers(g),
                           {"x": rng.uniform(lo, hi, (rows, k)).astype(np.float32)}))

    # C % 4 == 0: 18 groups (unrolled by 3), 7 columns (a one-pixel block), M even.
    conv("c8_m6_s1_p1_w7", (1, 8, 5, 7), 6)
    # C = 3: value-by-value copy, K = 27 -> 28, 7 groups (4 a pass and 3 after), M odd.
    conv("c3_m5_s2_asym_u8", (1, 3, 7, 8), 5, dtype="u8", pads=(0, 1, 2, 0), strides=(2, 2))
    # C = 1 (a first layer): K = 9 -> 12.
    conv("c1_m4_s1_p1_nobias", (1, 1, 6, 6), 4, bias=False)
    # C = 6, 5x3: K = 90, a window too big for the unrolled copy (positions computed).
    conv("c6_m4_5x3_computed_copy", (1, 6, 6, 7), 4, kernel=(5, 3), pads=(2, 1, 2, 1))
    # 1x1, C = 36: the copy's loop (9 groups: two passes and one), M = 3.
    conv("c36_m3_1x1_p0", (1, 36, 3, 5), 3, kernel=(1, 1), pads=(0, 0, 0, 0))
    # 1x1, C = 20: 5 groups (4 a pass and 1 after), fused rescale, uint8 input.
    conv("c20_m8_1x1_u8_fused", (1, 20, 4, 3), 8, dtype="u8", kernel=(1, 1),
         pads=(0, 0, 0, 0), fused=True)
    # 5x3 kernel, dilation 2, a fused rescale, C = 4.
    conv("c4_m7_5x3_dil2_fused", (1, 4, 9, 8), 7, kernel=(5, 3), pads=(2, 1, 2, 1),
         dilations=(2, 2), fused=True)
    # Dense layers: one row (one-pixel blocks), several rows (pairs and a last one).
    dense("fc_1x10_n5", 1, 10, 5)
    dense("fc_3x32_n6_u8_fused", 3, 32, 6, dtype="u8", fused=True)
    dense("fc_2x7_n3_nobias", 2, 7, 3, bias=False)
    return cases


@pytest.mark.parametrize("mcu", CORES)
def test_dense_convolutions_and_layers_are_bit_exact(tmp_path, mcu):
    """The DSP kernel on the M7 and the M4, the generic convolution on the M3: every
    case equals the integer simulator bit for bit."""
    require_arm()
    cases = _cases()
    built = _build_integer(tmp_path, cases, mcu)
    for case in cases:
        assert_matches_simulator(case, built["outputs"][case.name])
    assert ("N2D2C_LDRD(" in built["network"]) == (mcu in DSP_CORES)
