"""int8/uint8 max pooling four channels per word (templates/stm32/pool_max_dsp.j2:
SSUB8/USUB8 then SEL) on DSP cores, built with -Werror and run under QEMU: bit for bit
the integer simulator's.  Cases: strides, padding (border windows with fewer taps),
ceil mode (a window partly past the input), dilation, int8 and uint8, and a channel
count that is not a multiple of four (the generic kernel)."""

from __future__ import annotations

import numpy as np
import pytest

from backend_cpp.test_quantized import QCase, assert_matches_simulator, observe_integers
from n2d2c.ir import Graph, TensorType, ops

from .firmware import require_arm
from .test_stm32_target import DSP_CORES, _build_integer


def _cases() -> list[QCase]:
    rng = np.random.default_rng(1617)
    cases = []

    def pool(name, shape, dtype, kernel, strides, pads=(0, 0, 0, 0), dilations=(1, 1),
             ceil_mode=False):
        g = Graph(name)
        x = g.add_input("x", TensorType(shape))
        q = g.add(ops.Quantize(name="q", scale=0.05, dtype=dtype), [x]).output
        y = g.add(ops.MaxPool2d(name="pool", kernel=kernel, strides=strides, pads=pads,
                                dilations=dilations, ceil_mode=ceil_mode), [q]).output
        g.outputs = [g.add(ops.Dequantize(name="out", scale=1.0), [y]).output]
        lo, hi = (0, 12) if dtype == "u8" else (-6, 6)
        cases.append(QCase(name, observe_integers(g),
                           {"x": rng.uniform(lo, hi, shape).astype(np.float32)}))

    pool("max_2x2_s2_i8_c8", (1, 8, 6, 6), "i8", (2, 2), (2, 2))
    pool("max_3x3_s2_p1_u8_c12", (1, 12, 7, 7), "u8", (3, 3), (2, 2), pads=(1, 1, 1, 1))
    pool("max_2x2_s2_ceil_i8_c4", (1, 4, 5, 7), "i8", (2, 2), (2, 2), ceil_mode=True)
    pool("max_3x2_dil2_p_i8_c4", (1, 4, 7, 6), "i8", (3, 2), (1, 1), pads=(2, 1, 2, 0),
         dilations=(2, 2))
    pool("max_2x2_s2_i8_c6_generic", (1, 6, 4, 4), "i8", (2, 2), (2, 2))
    return cases


@pytest.mark.parametrize("mcu", ["stm32h7", "cortex-m3"])
def test_max_pooling_is_bit_exact(tmp_path, mcu):
    require_arm()
    cases = _cases()
    built = _build_integer(tmp_path, cases, mcu)
    for case in cases:
        assert_matches_simulator(case, built["outputs"][case.name])
    assert ("__sel(" in built["network"]) == (mcu in DSP_CORES)
