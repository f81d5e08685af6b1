"""TargetROIs at inference: bounding boxes from a pixel-wise segmentation by
connected-component labelling, and their matching with the annotated regions.

Per target (except ``NoDisplayLabel`` when it is >= 0, usually the background), the
macro-pixels estimated as that target (with a value >= ``ValueThreshold``) form 8-connected
components; a component of fewer than ``MinSize`` macro-pixels is dropped, boxes closer than
``MergeMaxHDist`` / ``MergeMaxVDist`` macro-pixels are merged, and boxes smaller than
``FilterMinWidth`` x ``FilterMinHeight`` or outside the aspect-ratio (width / height) bounds
``FilterMinAspectRatio`` / ``FilterMaxAspectRatio`` (0: no bound) are dropped.  The
annotated regions are the connected components of the target map.  A box matches an
unmatched annotation of its target with IoU >= ``MinOverlap`` (best IoU first).
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
    min_size: int = 1
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
                   *, value_threshold: float = 0.0, skip: int = -1) -> list[Box]:
    """The boxes of one estimated map [H, W] (best target per macro-pixel, its value)."""
    boxes = []
    for t in range(targets):
        if t == skip:
            continue
        found = components((estimated == t) & (values >= value_threshold), t, options.min_size)
        boxes += [b for b in _merge(found, options.merge_max_h_dist, options.merge_max_v_dist)
                  if _kept(b, options)]
    return boxes


def annotated_rois(target_map: np.ndarray, targets: int, *, skip: int = -1) -> list[Box]:
    return [b for t in range(targets) if t != skip for b in components(target_map == t, t)]


def match(estimated: list[Box], annotated: list[Box], min_overlap: float) -> int:
    """How many estimated boxes match an annotation of their target (each annotation at
    most once, best IoU first)."""
    pairs = sorted(((e.iou(a), i, j) for i, e in enumerate(estimated)
                    for j, a in enumerate(annotated) if e.target == a.target),
                   key=lambda p: (-p[0], p[1], p[2]))
    used_e, used_a = set(), set()
    for iou, i, j in pairs:
        if iou < min_overlap:
            break
        if i not in used_e and j not in used_a:
            used_e.add(i)
            used_a.add(j)
    return len(used_e)


def roi_scores(estimated_maps, value_maps, target_maps, targets: int, options: RoiOptions, *,
               value_threshold: float = 0.0, skip: int = -1) -> dict:
    """ROI counts and precision/recall over a data set of [N, H, W] maps."""
    found = annotated = matched = 0
    for est, val, tgt in zip(estimated_maps, value_maps, target_maps):
        boxes = estimated_rois(est, val, targets, options, value_threshold=value_threshold,
                               skip=skip)
        truth = annotated_rois(tgt, targets, skip=skip)
        found += len(boxes)
        annotated += len(truth)
        matched += match(boxes, truth, options.min_overlap)
    return {"estimated": found, "annotated": annotated, "matched": matched,
            "precision": matched / found if found else None,
            "recall": matched / annotated if annotated else None}
