"""The one Resize coordinate rule shared by the simulator and the C backends."""

import numpy as np
import pytest

from n2d2c.ir.ops.resize_rules import source_coordinates

MODES = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
         "asymmetric"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 7])
def test_scale_one_is_the_identity(mode, n):
    coords = source_coordinates(mode, n, n, 1.0)
    assert coords.dtype == np.float32
    np.testing.assert_array_equal(coords, np.arange(n, dtype=np.float32))


@pytest.mark.parametrize("scale", [2.0, 0.5, 4.0])
def test_symmetric_is_half_pixel_when_the_scale_is_exact(scale):
    n = 8
    out = int(n * scale)
    np.testing.assert_array_equal(source_coordinates("half_pixel_symmetric", out, n, scale),
                                  source_coordinates("half_pixel", out, n, scale))


@pytest.mark.parametrize("in_len, scale", [(5, 1.5), (7, 0.6), (3, 11 / 3), (4, 0.3)])
def test_symmetric_first_and_last_pixel_mirror_each_other(in_len, scale):
    # Rounding the output size down shifts half_pixel's grid; half_pixel_symmetric
    # re-centres it, so the first and last samples sit symmetrically about the centre.
    out_len = int(np.floor(in_len * np.float32(scale)))
    c = source_coordinates("half_pixel_symmetric", out_len, in_len, scale).astype(np.float64)
    assert c[0] + c[-1] == pytest.approx(in_len - 1, abs=1e-5)


def test_symmetric_ends_in_double_like_onnxruntime():
    # 5 -> 3 at scale 0.6: offset 1.49e-7 (float32), then (1 + 0.5) / 0.6 - 0.5 in double
    # is 1.99999990..., just below 2; in float32 it would come out just above 2.
    c = source_coordinates("half_pixel_symmetric", 3, 5, 0.6)
    assert c[1] < 2.0 and np.floor(c[1]) == 1


@pytest.mark.parametrize("mode", ["pytorch_half_pixel", "align_corners"])
def test_a_single_output_reads_index_zero(mode):
    np.testing.assert_array_equal(source_coordinates(mode, 1, 6, 0.2), [0.0])


def test_unknown_mode():
    with pytest.raises(ValueError, match="coordinate_transformation_mode"):
        source_coordinates("tf_crop_and_resize", 2, 2, 1.0)
