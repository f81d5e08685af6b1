"""Helpers for the network-lowering tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from n2d2c.ir import Graph

from .helpers import CORPUS


def corpus_env(corpus: Path = CORPUS) -> dict[str, str]:
    return {"N2D2_MODELS": str(corpus / "models"), "N2D2_DATA": str(corpus / "data")}


def simulate_or_none(graph: Graph, feeds: dict[str, np.ndarray]):
    """Outputs of the reference simulator, or None when it is not importable yet."""
    try:
        from n2d2c.runtime import simulate
    except ImportError:
        return None
    return simulate(graph, feeds)


def shapes_by_section(graph: Graph) -> dict[str, tuple[int, ...]]:
    """Shape of every value named after a section (``graph.metadata['layers']``)."""
    return {name: tuple(info["shape"]) for name, info in graph.metadata["layers"].items()}


def random_input(graph: Graph, seed: int = 0, scale: float = 1.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {v.name: (rng.standard_normal(v.shape) * scale).astype(np.float32)
            for v in graph.inputs}
