"""N2D2 Target semantics: labels mapping rules, estimated targets, masking and
pixel-wise macro-pixel targets, on small synthetic data sets."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from n2d2c.errors import InputError, ShapeError, UnsupportedError
from n2d2c.runtime.targets import (LabelsMapping, Target, build_label_table,
                                   macro_pixel_targets, mask_positions, read_label_names,
                                   wildcard_regex)

MAPPING = """
# background (no defect)
background 0
# padding
* -1
cat_+ 2          # one character
dog_*_x 3        # one or more characters
default 1
"""


def test_mapping_file_rules():
    mapping = LabelsMapping.parse(MAPPING, "map.dat")
    names = ["background", "cat_a", "cat_ab", "dog_big_x", "dog__x", "bird"]
    table = build_label_table(names, outputs=4, mapping=mapping)
    assert table.targets == [0, 2, 1, 3, 1, 1]
    assert table.rules == ["background", "cat_+", "default", "dog_*_x", "default", "default"]
    # label IDs -> outputs, the ignore label (-1) -> '*' entry (-1: ignored)
    np.testing.assert_array_equal(table.lookup([0, 1, -1, 3, 5]), [0, 2, -1, 3, 1])
    log = table.log().splitlines()
    assert log[0] == "label name output" and log[2] == "1 cat_a 2" and log[5] == "4 dog__x 1"
    rules = table.rules_log()
    assert "1 cat_a cat_+" in rules and "3 dog_big_x dog_*_x" in rules and "-1 * -> -1" in rules


def test_wildcards():
    assert wildcard_regex("a*b").fullmatch("axxb") and not wildcard_regex("a*b").fullmatch("ab")
    assert wildcard_regex("a+b").fullmatch("axb") and not wildcard_regex("a+b").fullmatch("axxb")
    assert wildcard_regex("x.*").fullmatch("x.1") and not wildcard_regex("x.*").fullmatch("xa1")
    # a label two lines map is an error, as in N2D2 (no silent precedence)
    mapping = LabelsMapping.parse("car* 1\nb+t 2\ncat 0\n", "m.dat")
    assert [mapping.target_of(n)[0] for n in ("cars", "bat", "cat", "car_x")] == [1, 2, 0, 1]
    with pytest.raises(InputError, match="label 'cart' is mapped by 'car\\*' .line 1. and "
                                         "'c\\*t' .line 2."):
        LabelsMapping.parse("car* 1\nc*t 2\n", "m.dat").target_of("cart")
    # names with spaces: every word but the last
    spaced = LabelsMapping.parse("traffic light 3\n\"stop sign\" 4\n")
    assert spaced.target_of("traffic light") == (3, "traffic light")
    assert spaced.target_of("stop sign")[0] == 4
    assert build_label_table(["stop sign"], 5, spaced).log().splitlines()[1] == '0 "stop sign" 4'


def test_unlisted_label_without_default_is_an_error():
    mapping = LabelsMapping.parse("cat 0\ndog 1\n", "m.dat")
    with pytest.raises(InputError, match="label 'fish' is not in the labels mapping.*'default'"):
        build_label_table(["cat", "fish"], outputs=2, mapping=mapping)


def test_label_beyond_the_outputs_is_an_error():
    with pytest.raises(ShapeError, match="label 'c' .*exceeds the 2 output"):
        build_label_table(["a", "b", "c"], outputs=2)
    with pytest.raises(ShapeError, match="label 'b' is mapped to output 5, but the target has 3"):
        build_label_table(["a", "b"], outputs=3,
                          mapping=LabelsMapping.parse("a 0\nb 5\n"))
    with pytest.raises(ShapeError, match="label ID 7"):
        build_label_table(["a", "b"], outputs=2).lookup([0, 7])


def test_default_mapping_and_logistic_output():
    table = build_label_table(["zero", "one"], outputs=1)     # one logistic output: 0 and 1
    assert table.targets == [0, 1]
    table = build_label_table(["x", "y", "z"], outputs=3)
    np.testing.assert_array_equal(table.lookup([2, 0, -1]), [2, 0, -1])


def test_malformed_mapping_files():
    with pytest.raises(InputError, match="must be '<label name> <output index>'"):
        LabelsMapping.parse("cat\n", "m.dat")
    with pytest.raises(InputError, match="not an integer"):
        LabelsMapping.parse("cat one\n", "m.dat")
    with pytest.raises(InputError, match="mapped twice .line 1 and line 2."):
        LabelsMapping.parse("cat 0\ncat 1\n", "m.dat")
    with pytest.raises(InputError, match="'default' is mapped twice"):
        LabelsMapping.parse("default 0\ndefault 1\n", "m.dat")


def test_labels_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("cat\ndog\n\nbird\n")
    assert read_label_names(path) == ["cat", "dog", "bird"]
    path.write_text("cat\ncat\n")
    with pytest.raises(InputError, match="twice"):
        read_label_names(path)


def test_top_n_and_binary_threshold():
    scores = np.random.default_rng(0).normal(size=(5, 6))
    estimated, values = Target(top_n=3).estimate(scores)
    for n in range(5):
        ranked = sorted(range(6), key=lambda c: -scores[n, c])[:3]
        assert list(estimated[n]) == ranked
        np.testing.assert_array_equal(values[n], scores[n, ranked])
    logistic = np.array([[0.2], [0.7], [0.5]])
    estimated, _ = Target(binary_threshold=0.5).estimate(logistic)
    assert estimated[:, 0].tolist() == [0, 1, 0]
    estimated, _ = Target(binary_threshold=0.1).estimate(logistic)
    assert estimated[:, 0].tolist() == [1, 1, 1]


def test_target_vector():
    vector = Target(target_value=1.0, default_value=0.0).target_vector(np.array([2, -1]), 3)
    np.testing.assert_array_equal(vector[0], [0, 0, 1])
    assert np.isnan(vector[1]).all()
    np.testing.assert_array_equal(Target().target_vector(np.array([0]), 2), [[1.0, 0.0]])
    np.testing.assert_array_equal(Target(default_value=-1.0).target_vector(np.array([1]), 1),
                                  [[1.0]])
    np.testing.assert_array_equal(Target(default_value=-1.0).target_vector(np.array([0]), 1),
                                  [[-1.0]])


def test_from_section():
    entry = {"section": "seg.Target", "type": "TargetScore", "labels_mapping": "/m.dat",
             "properties": {"TopN": "2", "WeakTarget": "-1", "BinaryThreshold": "0.3",
                            "MaskedLabel": "1", "MaskedLabelValue": "1",
                            "DefaultValue": "-1.0"}}
    target = Target.from_section(entry)
    assert (target.top_n, target.weak_target, target.binary_threshold, target.masked_label,
            target.masked_label_value, target.default_value, target.labels_mapping) == \
        (2, -1, 0.3, 1, True, -1.0, "/m.dat")
    with pytest.raises(UnsupportedError, match="TargetBBox"):
        Target.from_section({"section": "x.Target", "type": "TargetBBox"})


def test_masking():
    estimated = np.array([[[0, 1, 2]]]).transpose(0, 1, 2)        # [N=1, TopN=1, W=3]
    values = np.array([[[0.9, 0.8, 0.7]]])
    mask_estimated = np.array([[[1, 0, 1]]])
    mask_values = np.array([[[0.5, 0.9, 0.25]]])
    _, weighted, considered = mask_positions(estimated, values, mask_estimated, mask_values,
                                             masked_label=1, weigh_by_value=True)
    assert considered.tolist() == [[True, False, True]]
    np.testing.assert_allclose(weighted, [[[0.45, 0.0, 0.175]]])
    _, same, everywhere = mask_positions(estimated, values, mask_estimated, mask_values,
                                         masked_label=-1)
    assert everywhere.all() and same is values


def _macro_pixels_by_loop(t, ho, wo, weak):
    n, h, w = t.shape
    ry, rx = h / ho, w / wo
    out = np.zeros((n, ho, wo), np.int64)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                y0, x0 = int(np.floor(i * ry)), int(np.floor(j * rx))
                y1 = max(y0 + 1, int(np.floor((i + 1) * ry)))
                x1 = max(x0 + 1, int(np.floor((j + 1) * rx)))
                block = t[b, y0:y1, x0:x1].ravel().tolist()
                counts = Counter(block)
                if weak >= -1 and any(k != weak for k in counts):
                    counts.pop(weak, None)
                best = max(counts.values())
                out[b, i, j] = min(k for k, v in counts.items() if v == best)
    return out


@pytest.mark.parametrize("weak", [-2, -1, 0])
@pytest.mark.parametrize("shape,out", [((8, 8), (2, 2)), ((9, 7), (3, 4)), ((6, 6), (6, 6)),
                                       ((10, 10), (6, 4)), ((4, 5), (8, 5))])
def test_macro_pixel_majority_and_weak_target(weak, shape, out):
    t = np.random.default_rng(1).integers(-1, 3, size=(3,) + shape)
    np.testing.assert_array_equal(macro_pixel_targets(t, out, weak_target=weak),
                                  _macro_pixels_by_loop(t, *out, weak))


def test_weak_target_rule():
    block = np.full((1, 4, 4), -1)
    block[0, 0, 0] = 2                          # one labelled pixel among ignored ones
    assert macro_pixel_targets(block, (1, 1))[0, 0, 0] == -1
    assert macro_pixel_targets(block, (1, 1), weak_target=-1)[0, 0, 0] == 2
    with pytest.raises(ShapeError, match="targets are output indices or -1"):
        macro_pixel_targets(np.full((1, 4, 4), -3), (2, 2))
