"""Data that workers read themselves: a path or fsspec URL, never the arrays."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DataRef:
    """Where a worker finds the samples (a local path every worker sees, a shared
    filesystem, or an fsspec URL such as ``s3://bucket/calib.npz``) and which of them
    to use: the graph's ``input_names`` and the first ``count`` feeds (-1: all)."""

    location: str
    input_names: tuple[str, ...]
    count: int = -1

    @classmethod
    def of(cls, location: str | os.PathLike, input_names, count: int = -1) -> "DataRef":
        text = os.fspath(location)
        if "://" not in text:
            text = os.path.abspath(text)  # workers may run in another directory
        return cls(text, tuple(input_names), int(count))

    def arrays(self) -> dict[str, np.ndarray]:
        return _read(self.location, self.input_names)


@functools.lru_cache(maxsize=4)
def _read(location: str, input_names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Arrays of a data set, cached per worker process: a worker runs many shards
    of the same data."""
    from ..quantization.data import load_data
    if "://" in location:
        location = _local_copy(location)
    return load_data(location, input_names=input_names)


def _local_copy(url: str) -> str:
    """A local file holding ``url``: fsspec's ``simplecache`` copies a remote file to
    local disk once per worker (a ``file://`` URL is its own local copy)."""
    import fsspec
    from ..errors import InputError
    try:
        return fsspec.open_local(url if url.startswith("file://") else f"simplecache::{url}")
    except (ImportError, ValueError) as exc:  # unknown protocol, or its package missing
        raise InputError(f"cannot open data URL '{url}': {exc}") from None
    except (OSError, FileNotFoundError) as exc:
        raise InputError(f"cannot read data URL '{url}': {exc}") from None


def feeds_of(graph, ref: DataRef) -> list:
    """Every simulator feed of ``ref``'s samples for ``graph``, cut as in a single process."""
    from ..quantization.data import make_feeds
    return make_feeds(graph, ref.arrays(), ref.count)
