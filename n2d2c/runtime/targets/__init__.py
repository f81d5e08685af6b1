"""N2D2 Target semantics at inference: labels mapping, estimated targets (TopN,
BinaryThreshold, masking) and pixel-wise targets with the output scaling factor.

    table = build_label_table(["cat", "dog"], outputs=2, mapping=LabelsMapping.read(path))
    targets = table.lookup(label_ids)             # output index per sample (-1: ignored)
    estimated, values = Target(top_n=5).estimate(scores)
    macro = macro_pixel_targets(pixel_targets, (ho, wo), weak_target=-1)
"""

from .labels import (DEFAULT_NAME, IGNORE, IGNORE_NAME, LabelsMapping, LabelTable,
                     build_label_table, read_label_names, wildcard_regex)
from .metrics import Scores, score
from .pixelwise import NO_WEAK_TARGET, macro_pixel_targets
from .target import SCORED_TYPES, Target, mask_positions

__all__ = ["DEFAULT_NAME", "IGNORE", "IGNORE_NAME", "LabelTable", "LabelsMapping",
           "NO_WEAK_TARGET", "SCORED_TYPES", "Scores", "Target", "build_label_table",
           "macro_pixel_targets", "mask_positions", "read_label_names", "score",
           "wildcard_regex"]
