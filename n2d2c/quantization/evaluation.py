"""Evaluation of a network on a labelled data set with N2D2's Target semantics.

``run_outputs`` runs the samples through the simulator (any batch size, the last batch
padded); ``Evaluator`` turns labels into targets (labels mapping, pixel-wise macro-pixel
targets), outputs into estimated targets (TopN, BinaryThreshold), and both into
``EvalResult`` (success rate, top-N, per-target precision/recall/F1/IoU, the confusion
matrix, the mean loss).  Backends other than the simulator hand their outputs to
``Evaluator.evaluate`` in the same [N, C, *spatial] layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ShapeError, UsageError
from ..ir import Graph
from ..runtime.losses import Loss
from ..runtime.targets import (IGNORE, LabelsMapping, LabelTable, Scores, Target,
                               build_label_table, macro_pixel_targets, mask_positions, score)
from .calibration import single_threaded
from .data import make_feeds

#: Ops a network's output may pass through after its last activation without changing
#: what the values mean.
_PASS_THROUGH = ("identity", "reshape", "flatten", "squeeze", "unsqueeze", "dropout")


def output_activation(graph: Graph, output: int = 0) -> str | None:
    """'softmax' or 'sigmoid' when graph output ``output`` is one (through reshapes), else
    None: the scores are then logits."""
    value = graph.outputs[output]
    while value.producer is not None:
        name = getattr(type(value.producer), "OP_NAME", "").lower()
        if "softmax" in name:
            return "softmax"
        if name in ("sigmoid", "logistic"):
            return "sigmoid"
        if name not in _PASS_THROUGH:
            return None
        value = value.producer.inputs[0]
    return None


def run_outputs(graph: Graph, samples, *, outputs: list[str] | None = None,
                progress: Callable[[int], None] | None = None,
                precision: str = "fast") -> dict[str, np.ndarray]:
    """{output name: [N, ...]} of every sample; the samples are cut into the graph's
    batch (the last batch padded by repeating its last sample).  ``precision`` is the
    simulator's: "fast" (float32 BLAS) or "reference" (float64 accumulation)."""
    from ..runtime import Simulator
    names = outputs or [v.name for v in graph.outputs]
    feeds, batch, total = batched_feeds(graph, samples)
    sim = Simulator(graph, precision=precision)
    results: dict[str, list[np.ndarray]] = {n: [] for n in names}
    with single_threaded():
        for feed in feeds:
            out = sim.run(feed)
            for name in names:
                value = np.asarray(out[name])
                results[name].append(value.reshape((batch, -1) + value.shape[2:])
                                     if value.ndim >= 2 and value.shape[0] == batch
                                     else value.reshape(batch, -1))
            if progress:
                progress(batch)
    return {n: np.concatenate(v)[:total] for n, v in results.items()}


def batched_feeds(graph: Graph, samples) -> tuple[list[dict], int, int]:
    """(feeds, batch, sample count): every sample in the graph's batches, the last batch
    padded by repeating its last sample (its extra outputs are dropped by the caller)."""
    arrays = dict(samples) if isinstance(samples, dict) else {"x": np.asarray(samples)}
    total = len(next(iter(arrays.values())))
    batch = max((v.shape[0] if v.type.rank else 1) for v in graph.inputs) if graph.inputs else 1
    padding = (-total) % batch
    if padding:
        arrays = {k: np.concatenate([a, np.repeat(a[-1:], padding, axis=0)])
                  for k, a in arrays.items()}
    return make_feeds(graph, arrays), batch, total


def label_ids(y, names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """(label IDs, label names) of labels ``y``: class indices (-1: the ignore label),
    or names, given IDs in the order of ``names`` (a labels file) or of first appearance."""
    y = np.asarray(y)
    if y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)):
        ids = y.astype(np.int64)
        if ids.size and ids.min() < IGNORE:
            raise ShapeError(f"label {int(ids.min())}: labels are class indices, or -1 for "
                             f"'no valid label'")
        count = int(ids.max(initial=-1)) + 1
        if names is None:
            names = [str(i) for i in range(count)]
        elif count > len(names):
            raise ShapeError(f"label {count - 1} but the labels file names only "
                             f"{len(names)} labels")
        return ids, list(names)
    if y.dtype.kind not in "US":
        raise ShapeError(f"labels of dtype {y.dtype}: expected integers or label names")
    flat = y.astype(str).reshape(-1)
    if names is None:
        unique, first = np.unique(flat, return_index=True)
        names = [str(n) for n in unique[np.argsort(first)]]
    index = {n: i for i, n in enumerate(names)}
    missing = [n for n in dict.fromkeys(flat) if n not in index]
    if missing:
        raise ShapeError(f"label '{missing[0]}' is not in the labels file")
    return np.array([index[n] for n in flat], np.int64).reshape(y.shape), list(names)


@dataclass
class EvalResult:
    scores: Scores
    output_names: list[str]          # a name per target (the labels mapped to it)
    segmentation: bool
    loss_name: str | None = None
    loss: float | None = None
    loss_scores: str | None = None   # how the loss read the output
    estimated: np.ndarray | None = None         # best target [N] or [N, Ho, Wo]
    estimated_maps: np.ndarray | None = None    # segmentation: [N, Ho, Wo] best target
    estimated_values: np.ndarray | None = None  # and its output value
    target_maps: np.ndarray | None = None
    table: LabelTable | None = None
    extra: dict = field(default_factory=dict)


class Evaluator:
    """Scores outputs against labels for one target of a network."""

    def __init__(self, target: Target, *, outputs: int, activation: str | None,
                 loss: Loss | None = None, mapping: LabelsMapping | None = None,
                 label_names: list[str] | None = None):
        self.target = target
        self.outputs = outputs
        self.activation = activation
        self.loss = loss
        self.mapping = mapping
        self.label_names = label_names

    def targets(self, y, output_shape: tuple[int, ...]):
        """(targets [N, *spatial] as output indices, -1 ignored; the label table)."""
        ids, names = label_ids(y, self.label_names)
        capacity = 2 if self.outputs == 1 else self.outputs
        if self.mapping is None and ids.size and ids.max() >= capacity:
            first = ids.reshape(-1)[np.argmax(ids.reshape(-1) >= capacity)]  # data order
            raise ShapeError(f"label '{names[first]}' (label ID {first}) exceeds the "
                             f"{self.outputs} output(s) of the target: without a labels "
                             f"mapping every label needs its own output",
                             hint="map several labels to one output with --labels-mapping")
        table = build_label_table(names[:capacity] if self.mapping is None else names,
                                  self.outputs, self.mapping)
        targets = table.lookup(ids)
        spatial = output_shape[2:]
        if targets.ndim == 1:
            if any(s != 1 for s in spatial):
                raise ShapeError(f"one label per sample, but the output {list(output_shape)} "
                                 f"is a {'x'.join(map(str, spatial))} map: give per-pixel "
                                 f"label maps [N, H, W]")
            return targets, table
        if targets.ndim != 3 or len(spatial) != 2:
            raise ShapeError(f"label maps of shape {list(targets.shape)} for an output of shape "
                             f"{list(output_shape)}: expected [N, H, W] labels and [N, C, H, W] "
                             f"outputs")
        return macro_pixel_targets(targets, spatial, weak_target=self.target.weak_target), table

    def evaluate(self, output, y, *, mask_output=None) -> EvalResult:
        """Scores of ``output`` [N, C, *spatial] against labels ``y``; ``mask_output`` is
        the output of the ``MaskLabelTarget`` when the target masks (``MaskedLabel >= 0``):
        positions where that target does not estimate ``MaskedLabel`` are left out, like
        ignored ones."""
        out = np.asarray(output, dtype=np.float64)
        if out.ndim == 1:
            out = out[:, None]
        if out.shape[0] != len(y):
            raise ShapeError(f"{out.shape[0]} outputs for {len(y)} labels")
        targets, table = self.targets(y, out.shape)
        segmentation = targets.ndim == 3
        if not segmentation:
            out = out.reshape(out.shape[:2])
        estimated, values = self.target.estimate(out)
        if self.target.masked_label >= 0:
            targets = self._masked(targets, estimated, values, mask_output)
        classes = 2 if self.outputs == 1 else self.outputs
        flat_est = np.moveaxis(estimated, 1, -1).reshape(-1, estimated.shape[1])
        scores = score(flat_est, targets.reshape(-1), classes)
        result = EvalResult(scores, self.output_names(table, classes), segmentation, table=table,
                            estimated=estimated[:, 0])
        if segmentation:
            result.estimated_maps = estimated[:, 0]
            result.estimated_values = values[:, 0]
            result.target_maps = targets
            if self.target.type == "TargetROIs":
                result.extra["rois"] = self._rois(estimated[:, 0], values[:, 0], targets,
                                                  classes)
        if self.loss is not None:
            result.loss_name = str(self.loss)
            result.loss, result.loss_scores = self.mean_loss(out, targets)
        return result

    def _rois(self, estimated, values, targets, classes) -> dict:
        from ..runtime.targets.rois import RoiOptions, roi_scores
        options = RoiOptions.from_properties(self.target.properties, self.target.name)
        return roi_scores(estimated, values, targets, classes, options,
                          value_threshold=self.target.value_threshold)

    def _masked(self, targets, estimated, values, mask_output):
        if mask_output is None:
            raise UsageError(f"[{self.target.name}]MaskedLabel={self.target.masked_label} needs "
                             f"the output of its MaskLabelTarget "
                             f"'{self.target.mask_label_target}'")
        mask = np.asarray(mask_output, dtype=np.float64)
        if mask.ndim == 1:
            mask = mask[:, None]
        if mask.ndim == 2 and estimated.ndim > 2:
            raise ShapeError(f"mask target output {list(mask.shape)} does not cover the "
                             f"target's {list(estimated.shape)}")
        if estimated.ndim == 2:
            mask = mask.reshape(mask.shape[:2])
        mask_estimated, mask_values = Target(binary_threshold=self.target.binary_threshold) \
            .estimate(mask)
        _, _, considered = mask_positions(estimated, values, mask_estimated, mask_values,
                                          masked_label=self.target.masked_label,
                                          weigh_by_value=self.target.masked_label_value)
        return np.where(considered, targets, IGNORE)

    def output_names(self, table: LabelTable, classes: int) -> list[str]:
        """A name per output: the data set's labels mapped to it, else the labels the
        mapping file names for it, else its index."""
        names = []
        for index in range(classes):
            mapped = [n for n, t in zip(table.names, table.targets) if t == index]
            if not mapped and self.mapping is not None:
                mapped = [n for n, t in self.mapping.exact.items() if t == index]
            names.append("|".join(mapped) if mapped else str(index))
        return names

    # -- the loss -----------------------------------------------------------------------
    def mean_loss(self, out: np.ndarray, targets: np.ndarray) -> tuple[float, str]:
        """The loss over the data set and a note on how it read the output."""
        kind = self.loss.kind
        if kind.reads == "gaussian":
            raise UsageError(f"loss '{kind.name}' compares two distributions; it does not "
                             f"score a network's output against labels")
        if kind.reads == "values":
            vector = self.target.target_vector(targets, out.shape[1])
            rows, wanted = _valid_rows(out, vector, targets)
            return float(self.loss(rows, wanted)), (
                f"output against the target vector: TargetValue={self.target.target_value}, "
                f"DefaultValue={self.target.default_value}")
        scores_kind, pred, note = self._scores(out, kind.reads)
        if kind.dense_target:
            hot = _one_hot_or_binary(targets, out.shape[1])
            rows, wanted = _valid_rows(pred, hot, targets)
            return float(self.loss(rows, wanted, scores_kind=scores_kind)), note
        if self.outputs == 1:
            pred = _two_classes(pred, scores_kind)
        if "ignore_index" in kind.parameters() and "ignore_index" not in self.loss.options:
            return float(self.loss(pred, targets, scores_kind=scores_kind,
                                   ignore_index=IGNORE)), note
        if np.any(targets == IGNORE):
            rows, kept = _valid_rows(pred, None, targets)
            return float(self.loss(rows, kept, scores_kind=scores_kind)), note
        return float(self.loss(pred, targets, scores_kind=scores_kind)), note

    def _scores(self, out: np.ndarray, reads: str) -> tuple[str, np.ndarray, str]:
        ends = {"softmax": "Softmax", "sigmoid": "Sigmoid"}.get(self.activation or "")
        if ends is None:
            return "logits", out, "output read as logits: the network does not end in " \
                                  "Softmax or Sigmoid"
        if reads == "logits":     # this loss only takes logits: recover them
            p = np.clip(out, 1e-12, 1 - 1e-12)
            logits = np.log(p) if ends == "Softmax" else np.log(p) - np.log1p(-p)
            return "logits", logits, (f"output read as probabilities: the network ends in "
                                      f"{ends}; turned into logits for this loss")
        return "probabilities", out, f"output read as probabilities: the network ends in {ends}"


def _valid_rows(pred: np.ndarray, dense, targets: np.ndarray):
    """Positions with a target, as rows [M, C] (and the dense targets [M, C] or the sparse
    targets [M] of those positions)."""
    rows = np.moveaxis(pred, 1, -1).reshape(-1, pred.shape[1])
    keep = targets.reshape(-1) != IGNORE
    if dense is None:
        return rows[keep], targets.reshape(-1)[keep]
    return rows[keep], np.moveaxis(dense, 1, -1).reshape(-1, dense.shape[1])[keep]


def _one_hot_or_binary(targets: np.ndarray, outputs: int) -> np.ndarray:
    t = np.maximum(targets, 0)
    if outputs == 1:
        return t[:, None].astype(np.float64)
    return np.moveaxis(np.eye(outputs)[t], -1, 1)


def _two_classes(pred: np.ndarray, scores_kind: str) -> np.ndarray:
    """A one-output (logistic) prediction as two classes: probabilities (1 - p, p) or
    logits (0, x), whose softmax is (1 - sigmoid(x), sigmoid(x))."""
    if scores_kind == "probabilities":
        return np.concatenate([1.0 - pred, pred], axis=1)
    return np.concatenate([np.zeros_like(pred), pred], axis=1)
