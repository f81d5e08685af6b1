"""Classification accuracy and confusion matrix of a (float or quantized) graph: the
short Python helper (``n2d2c eval`` and ``quantization.evaluation`` are the full one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ShapeError
from ..ir import Graph
from .calibration import single_threaded
from .data import make_feeds


@dataclass
class Evaluation:
    accuracy: float
    confusion: np.ndarray     # [true class, predicted class] counts
    count: int


def predict(graph: Graph, x, *, output: int = 0) -> np.ndarray:
    """argmax class of each sample of ``x`` (the last axis of graph output ``output``)."""
    from ..runtime import Simulator
    feeds = make_feeds(graph, x)
    sim = Simulator(graph)
    name = graph.outputs[output].name
    predictions = []
    with single_threaded():
        for feed in feeds:
            scores = np.asarray(sim.run(feed)[name])
            batch = next(iter(feed.values())).shape[0] if feed else 1
            predictions.append(scores.reshape(batch, -1).argmax(axis=1))
    return np.concatenate(predictions) if predictions else np.zeros(0, np.int64)


def evaluate_classifier(graph: Graph, x, y, *, classes: int | None = None) -> Evaluation:
    """Accuracy and confusion matrix of ``graph`` on samples ``x`` with labels ``y``."""
    y = np.asarray(y).astype(np.int64).reshape(-1)
    predicted = predict(graph, x)
    if predicted.size > y.size:
        raise ShapeError(f"{predicted.size} predictions but only {y.size} labels")
    y = y[:predicted.size]
    classes = classes or int(max(y.max(initial=0), predicted.max(initial=0)) + 1)
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (y, predicted), 1)
    accuracy = float(np.mean(predicted == y)) if y.size else 0.0
    return Evaluation(accuracy, confusion, int(y.size))
