"""TargetROIs at inference: bounding boxes from a pixel-wise segmentation by
connected-component labelling, scored against the annotated regions as N2D2 does.

Target 0 is the background.  The macro-pixels estimated as each other target (with a value
>= ``ValueThreshold``) form 8-connected components; a component of fewer than ``MinSize``
macro-pixels is dropped; boxes smaller than ``FilterMinWidth`` x ``FilterMinHeight`` or
outside the aspect-ratio (width / height) bounds ``FilterMinAspectRatio`` /
``FilterMaxAspectRatio`` (0: no bound) are dropped, then boxes of a target closer than
``MergeMaxHDist`` / ``MergeMaxVDist`` macro-pixels are merged.  A box's score is the mean
estimated value of its target's macro-pixels inside it.  The annotated regions are the
connected components of the target map (n2d2c reads no ROI annotation files).

Matching, best score first: a box takes the annotation of highest IoU above ``MinOverlap``
(whatever its target); a later box taking an annotation already taken is a duplicate and
not counted.  The ROI confusion matrix counts (annotation target, box target) per match,
(0, box target) per unmatched box and (annotation target, 0) per missed annotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import UsageError


@dataclass(frozen=True)
class Box:
    target: int
    top: int
    left: int
    bottom: int      # exclusive
    right: int       # exclusive

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def iou(self, other: "Box") -> float:
        h = max(0, min(self.bottom, other.bottom) - max(self.top, other.top))
        w = max(0, min(self.right, other.right) - max(self.left, other.left))
        inter = h * w
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union else 0.0

    def gaps(self, other: "Box") -> tuple[int, int]:
        """(horizontal, vertical) distance in pixels between the boxes (0: they touch or
        overlap)."""
        h = max(0, max(self.left, other.left) - min(self.right, other.right))
        v = max(0, max(self.top, other.top) - min(self.bottom, other.bottom))
        return h, v

    def union(self, other: "Box") -> "Box":
        return Box(self.target, min(self.top, other.top), min(self.left, other.left),
                   max(self.bottom, other.bottom), max(self.right, other.right))


@dataclass(frozen=True)
class RoiOptions:
    min_size: int = 0
    min_overlap: float = 0.5
    filter_min_height: int = 0
    filter_min_width: int = 0
    filter_min_aspect_ratio: float = 0.0
    filter_max_aspect_ratio: float = 0.0
    merge_max_h_dist: int = 1
    merge_max_v_dist: int = 1

    PROPERTIES = {"MinSize": ("min_size", int), "MinOverlap": ("min_overlap", float),
                  "FilterMinHeight": ("filter_min_height", int),
                  "FilterMinWidth": ("filter_min_width", int),
                  "FilterMinAspectRatio": ("filter_min_aspect_ratio", float),
                  "FilterMaxAspectRatio": ("filter_max_aspect_ratio", float),
                  "MergeMaxHDist": ("merge_max_h_dist", int),
                  "MergeMaxVDist": ("merge_max_v_dist", int)}

    @classmethod
    def from_properties(cls, properties: dict, section: str = "") -> "RoiOptions":
        values = {}
        for key, (attr, convert) in cls.PROPERTIES.items():
            if key in properties:
                try:
                    values[attr] = convert(properties[key])
                except ValueError:
                    raise UsageError(f"[{section}]{key}={properties[key]!r} is not a valid "
                                     f"{convert.__name__}") from None
        return cls(**values)


def components(mask: np.ndarray, target: int, min_size: int = 1) -> list[Box]:
    """Bounding boxes of the 8-connected components of ``mask`` [H, W] with at least
    ``min_size`` pixels."""
    from scipy import ndimage
    labelled, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    boxes = []
    sizes = np.bincount(labelled.ravel(), minlength=count + 1)
    for index, where in enumerate(ndimage.find_objects(labelled), 1):
        if where is not None and sizes[index] >= min_size:
            rows, cols = where
            boxes.append(Box(target, rows.start, cols.start, rows.stop, cols.stop))
    return boxes


def _merge(boxes: list[Box], h_dist: int, v_dist: int) -> list[Box]:
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                h, v = merged[i].gaps(merged[j])
                if h <= h_dist and v <= v_dist:
                    merged[i] = merged[i].union(merged.pop(j))
                    changed = True
                    break
            if changed:
                break
    return sorted(merged, key=lambda b: (b.top, b.left, b.bottom, b.right))


def _kept(box: Box, o: RoiOptions) -> bool:
    if box.height < o.filter_min_height or box.width < o.filter_min_width:
        return False
    ratio = box.width / box.height
    if o.filter_min_aspect_ratio > 0 and ratio < o.filter_min_aspect_ratio:
        return False
    return not (o.filter_max_aspect_ratio > 0 and ratio > o.filter_max_aspect_ratio)


def estimated_rois(estimated: np.ndarray, values: np.ndarray, targets: int, options: RoiOptions,
                   *, value_threshold: float = 0.0) -> list[tuple[Box, float]]:
    """(box, score) of one estimated map [H, W] (best target per macro-pixel, its value),
    best score first."""
    scored = []
    for t in range(1, targets):                       # 0: the background
        shown = (estimated == t) & (values >= value_threshold)
        found = [b for b in components(shown, t, options.min_size) if _kept(b, options)]
        for box in _merge(found, options.merge_max_h_dist, options.merge_max_v_dist):
            inside = shown[box.top:box.bottom, box.left:box.right]
            score = float(values[box.top:box.bottom, box.left:box.right][inside].mean())
            scored.append((box, score))
    return sorted(scored, key=lambda item: -item[1])


def annotated_rois(target_map: np.ndarray, targets: int) -> list[Box]:
    return [b for t in range(1, targets) for b in components(target_map == t, t)]


def match(boxes: list[Box], annotated: list[Box], min_overlap: float, confusion: np.ndarray):
    """Add one image's matches to ``confusion`` [targets, targets]; returns the number of
    duplicate boxes.  ``boxes`` come best score first."""
    taken: set[int] = set()
    duplicates = 0
    for box in boxes:
        best, best_iou = None, min_overlap
        for j, truth in enumerate(annotated):
            iou = box.iou(truth)
            if iou > best_iou:
                best, best_iou = j, iou
        if best is None:
            confusion[0, box.target] += 1             # a false alarm
        elif best in taken:
            duplicates += 1
        else:
            taken.add(best)
            confusion[annotated[best].target, box.target] += 1
    for j, truth in enumerate(annotated):
        if j not in taken:
            confusion[truth.target, 0] += 1           # a miss
    return duplicates


def roi_scores(estimated_maps, value_maps, target_maps, targets: int, options: RoiOptions, *,
               value_threshold: float = 0.0) -> dict:
    """The ROI confusion matrix, counts and precision/recall over [N, H, W] maps."""
    confusion = np.zeros((targets, targets), np.int64)
    found = annotated = duplicates = 0
    for est, val, tgt in zip(estimated_maps, value_maps, target_maps):
        boxes = [b for b, _ in estimated_rois(est, val, targets, options,
                                              value_threshold=value_threshold)]
        truth = annotated_rois(tgt, targets)
        found += len(boxes)
        annotated += len(truth)
        duplicates += match(boxes, truth, options.min_overlap, confusion)
    correct = int(np.trace(confusion[1:, 1:]))
    counted = found - duplicates
    return {"estimated": found, "annotated": annotated, "matched": correct,
            "duplicates": duplicates, "confusion": confusion.tolist(),
            "precision": correct / counted if counted else None,
            "recall": correct / annotated if annotated else None}
