"""Labelled data sets for evaluation: an ``.npz`` with ``x`` (or one array per graph
input) and ``y`` (class indices, label names, or per-pixel label maps), or a folder laid out
as N2D2's DIR database: one sub-folder per label (label IDs in alphabetical order of the
sub-folders, as N2D2 loads them), images (.png/.pgm/.ppm) or .npy samples inside."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError, ShapeError
from .data import IMAGE_SUFFIXES, SAMPLE_SUFFIXES, read_arrays, read_image


def is_dir_database(path) -> bool:
    path = Path(path)
    return path.is_dir() and any(p.is_dir() and not p.name.startswith(".")
                                 for p in path.iterdir())


def read_dir_database(folder) -> tuple[np.ndarray, np.ndarray]:
    """(samples [N, ...], label names [N]) of a DIR database; samples sorted by label folder,
    then by file name."""
    folder = Path(folder)
    samples, labels = [], []
    for label_dir in sorted(p for p in folder.iterdir() if p.is_dir()
                            and not p.name.startswith(".")):
        files = sorted(p for p in label_dir.iterdir()
                       if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES)
        for file in files:
            if file.suffix.lower() in IMAGE_SUFFIXES:
                samples.append(read_image(file))
            else:
                try:
                    samples.append(np.load(file, allow_pickle=False))
                except (OSError, ValueError) as exc:
                    raise InputError(f"cannot read sample '{file}': {exc}") from None
            labels.append(label_dir.name)
    if not samples:
        raise InputError(f"DIR database '{folder}' has no samples (.npy or images) in its "
                         f"label sub-folders")
    shapes = {s.shape for s in samples}
    if len(shapes) != 1:
        raise ShapeError(f"DIR database '{folder}': samples of different shapes "
                         f"{sorted(shapes)[:3]} (n2d2c does not resize)")
    return np.stack(samples).astype(np.float32), np.array(labels)


def read_labelled(path) -> dict[str, np.ndarray]:
    """The arrays of a labelled data set: inputs (``x`` or by input name) and ``y``."""
    if is_dir_database(path):
        x, y = read_dir_database(path)
        return {"x": x, "y": y}
    arrays = read_arrays(path)
    if "y" not in arrays:
        raise InputError(f"'{path}' has no labels: evaluation needs an .npz with 'x' and 'y' "
                         f"or a DIR database (one sub-folder per label)")
    return arrays


def samples_and_labels(arrays: dict[str, np.ndarray], input_names, path,
                       limit: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({input name or "x": samples}, labels) of a labelled data set's arrays, the
    first ``limit`` samples when ``limit`` > 0 (what ``n2d2c eval`` scores, here and on
    Dask workers alike)."""
    from .data import select_inputs
    data = dict(arrays)
    labels = data.pop("y")
    data = select_inputs(data, list(input_names), path)
    data.pop("y", None)
    samples = data if len(data) > 1 else {"x": data["x"] if "x" in data
                                          else next(iter(data.values()))}
    if limit and limit > 0:
        labels = labels[:limit]
        samples = {k: v[:limit] for k, v in samples.items()}
    count = len(next(iter(samples.values())))
    if len(labels) != count:
        raise ShapeError(f"'{path}': {count} samples but {len(labels)} labels")
    return samples, labels
