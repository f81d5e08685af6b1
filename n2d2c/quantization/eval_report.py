"""What ``n2d2c eval`` prints and writes: the terminal report, ``metrics.json`` (every
number printed), ``confusion.csv``, ``confusion.png`` (a heat-map), segmentation label
maps as PNG, and the generated labels mapping (``<target>/labels_mapping.log.dat``)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from ..errors import UnsupportedError
from ..runtime.targets import Target
from .evaluation import EvalResult

#: Segmentation label maps written with -o (predicted and expected, side by side).
LABEL_MAPS = 4


def _percent(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 100:.2f}%"


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def format_result(result: EvalResult, *, title: str = "") -> str:
    s = result.scores
    what = "pixels" if result.segmentation else "samples"
    lines = [title] if title else []
    correct = int(np.trace(s.confusion))
    lines.append(f"accuracy: {_percent(s.success_rate)} ({correct}/{s.count} {what}"
                 + (f", {s.ignored} ignored" if s.ignored else "") + ")")
    if s.top_n > 1:
        lines.append(f"top-{s.top_n} accuracy: {_percent(s.top_n_rate)}")
    if result.segmentation:
        lines.append(f"mean IoU: {_percent(s.mean_iou)}")
    rois = result.extra.get("rois")
    if rois:
        lines.append(f"ROIs: {rois['matched']} of {rois['estimated']} estimated match one of "
                     f"the {rois['annotated']} annotated (precision "
                     f"{_percent(rois['precision'])}, recall {_percent(rois['recall'])})")
    if result.loss_name is not None:
        lines.append(f"loss {result.loss_name}: {result.loss:.6g} ({result.loss_scores})")
    width = max(8, max(len(n) for n in result.output_names) + 1)
    lines.append(f"{'target':>{width}} {'precision':>10} {'recall':>10} {'specificity':>11} "
                 f"{'F1':>10} {'IoU':>10} {'support':>8}")
    for i, name in enumerate(result.output_names):
        lines.append(f"{name:>{width}} {_percent(s.precision[i]):>10} "
                     f"{_percent(s.recall[i]):>10} {_percent(s.specificity[i]):>11} "
                     f"{_percent(s.f1[i]):>10} {_percent(s.iou[i]):>10} {int(s.support[i]):>8}")
    cell = max(4, len(str(int(s.confusion.max(initial=0)))) + 1)
    lines.append("confusion matrix (rows: target, columns: estimated):")
    lines.append(" " * 6 + "".join(f"{c:>{cell}}" for c in range(s.classes)))
    for t in range(s.classes):
        lines.append(f"{t:>5} " + "".join(f"{v:>{cell}}" for v in s.confusion[t]))
    return "\n".join(lines) + "\n"


def metrics(result: EvalResult) -> dict:
    """Every number of the report, JSON-ready (undefined ratios are null)."""
    s = result.scores
    data = {"segmentation": result.segmentation, "count": s.count, "ignored": s.ignored,
            "correct": int(np.trace(s.confusion)), "success_rate": _number(s.success_rate),
            "top_n": s.top_n, "top_n_rate": _number(s.top_n_rate),
            "mean_iou": _number(s.mean_iou),
            "per_target": [{"index": i, "name": name, "precision": _number(s.precision[i]),
                            "recall": _number(s.recall[i]),
                            "specificity": _number(s.specificity[i]),
                            "informedness": _number(s.informedness[i]), "f1": _number(s.f1[i]),
                            "iou": _number(s.iou[i]), "support": int(s.support[i])}
                           for i, name in enumerate(result.output_names)],
            "confusion": s.confusion.tolist()}
    if result.loss_name is not None:
        data["loss"] = {"name": result.loss_name, "value": _number(result.loss),
                        "scores": result.loss_scores}
    data.update(result.extra)
    return data


def confusion_csv(result: EvalResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["target \\ estimated"] + result.output_names)
    for name, row in zip(result.output_names, result.scores.confusion):
        writer.writerow([name] + [int(v) for v in row])
    return buffer.getvalue()


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UnsupportedError("writing confusion.png needs matplotlib",
                               hint="pip install matplotlib") from None
    matplotlib.use("Agg")          # files only: no display, no GUI toolkit
    from matplotlib import pyplot
    return pyplot


def _save_png(figure, path: Path) -> None:
    # No timestamp or software tag: the same data gives the same bytes.
    figure.savefig(path, format="png", metadata={"Software": None}, dpi=100)


def confusion_png(result: EvalResult, path: Path, title: str) -> None:
    plt = _pyplot()
    confusion = result.scores.confusion
    size = min(14.0, 2.5 + 0.45 * confusion.shape[0])
    figure, axes = plt.subplots(figsize=(size, size))
    rows = confusion.sum(axis=1, keepdims=True)
    shares = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the target")
    ticks = range(confusion.shape[0])
    axes.set_xticks(ticks, labels=result.output_names, rotation=90)
    axes.set_yticks(ticks, labels=result.output_names)
    axes.set_xlabel("estimated")
    axes.set_ylabel("target")
    axes.set_title(title)
    if confusion.shape[0] <= 30:
        for t in ticks:
            for e in ticks:
                axes.text(e, t, str(int(confusion[t, e])), ha="center", va="center",
                          fontsize=7, color="white" if shares[t, e] > 0.5 else "black")
    figure.tight_layout()
    _save_png(figure, path)
    plt.close(figure)


def label_colours(labels: np.ndarray, classes: int, target: Target,
                  values: np.ndarray | None = None) -> np.ndarray:
    """RGB [H, W, 3] in [0, 1] of a label map, coloured as N2D2 logs them: hue
    (180 t / targets + LabelsHueOffset) mod 180 on OpenCV's 0..180 scale, full saturation;
    brightness the estimated value (``EstimatedLabelsValueDisplay``); the NoDisplayLabel
    nearly grey, ignored (or below ``ValueThreshold``) positions grey."""
    from matplotlib.colors import hsv_to_rgb
    labels = np.asarray(labels, np.int64)
    hue = ((180 * np.maximum(labels, 0) // classes + target.labels_hue_offset) % 180) / 180.0
    saturation = np.ones(labels.shape)
    value = np.ones(labels.shape)
    if values is not None and target.estimated_labels_value_display:
        value = np.clip(values, 0.0, 1.0)
    hidden = labels == target.no_display_label
    saturation[hidden], value[hidden] = 10 / 255, 127 / 255
    grey = labels < 0
    if values is not None and target.value_threshold > 0:
        grey |= values < target.value_threshold
    hue[grey], saturation[grey], value[grey] = 0.0, 0.0, 127 / 255
    return hsv_to_rgb(np.stack([hue, saturation, value], axis=-1))


def label_map_pngs(result: EvalResult, folder: Path, target: Target) -> list[str]:
    """Estimated and target label maps of the first samples, side by side."""
    plt = _pyplot()
    classes = result.scores.classes
    written = []
    for n in range(min(LABEL_MAPS, result.estimated_maps.shape[0])):
        figure, axes = plt.subplots(1, 2, figsize=(6, 3.2))
        panels = ((axes[0], label_colours(result.estimated_maps[n], classes, target,
                                          result.estimated_values[n]), "estimated"),
                  (axes[1], label_colours(result.target_maps[n], classes, target), "target"))
        for ax, rgb, what in panels:
            ax.imshow(rgb, interpolation="nearest")
            ax.set_title(what)
            ax.axis("off")
        figure.tight_layout()
        name = f"labels_{n:03d}.png"
        _save_png(figure, folder / name)
        plt.close(figure)
        written.append(name)
    return written


def write_outputs(folder: Path, result: EvalResult, *, target: Target, title: str,
                  extra_json: dict | None = None) -> list[str]:
    """Write every output file into ``folder`` (an atomic output folder's temporary
    path); returns the names written."""
    data = metrics(result)
    if extra_json:
        data.update(extra_json)
    (folder / "metrics.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    (folder / "confusion.csv").write_text(confusion_csv(result))
    confusion_png(result, folder / "confusion.png", title)
    names = ["metrics.json", "confusion.csv", "confusion.png"]
    if result.table is not None:
        log = folder / target.name / "labels_mapping.log.dat"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.table.log())
        (log.parent / "labels_mapping_rules.log.dat").write_text(result.table.rules_log())
        names += [f"{target.name}/labels_mapping.log.dat",
                  f"{target.name}/labels_mapping_rules.log.dat"]
    if result.segmentation:
        names += label_map_pngs(result, folder, target)
    return names
