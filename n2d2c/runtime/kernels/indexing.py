"""Indexing and rearranging kernels: gathers, Expand, Tile, depth/space shuffles, Trilu.

They move elements of any type (numpy does the work); indices read at run time are
checked here, since an index out of range is a property of the data, not of the graph.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from ...ir import ops
from ..registry import ANY, kernel


def _wrapped(op, indices: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Indices with negative ones counted from the end; InputError when out of range
    (onnxruntime refuses them too)."""
    # The declared shape: the simulator hands a 0-d graph input over as 1-d.
    indices = np.asarray(indices, np.int64).reshape(op.inputs[1].shape)
    bad = (indices < -size) | (indices >= size)
    if bad.any():
        raise InputError(f"{op.label}: index {int(indices[bad].flat[0])} is out of range for "
                         f"axis {axis} of size {size}")
    return np.where(indices < 0, indices + size, indices)


@kernel(ops.Gather, dtypes=ANY)
def gather(op: ops.Gather, x, indices):
    axis = op.resolved_axis(x.ndim)
    return np.take(x, _wrapped(op, indices, x.shape[axis], axis), axis=axis)


@kernel(ops.GatherElements, dtypes=ANY)
def gather_elements(op: ops.GatherElements, x, indices):
    axis = op.resolved_axis(x.ndim)
    # take_along_axis needs x cut to indices' extent off the axis.
    window = tuple(slice(None) if a == axis else slice(0, n) for a, n in enumerate(indices.shape))
    return np.take_along_axis(x[window], _wrapped(op, indices, x.shape[axis], axis), axis=axis)


@kernel(ops.Expand, dtypes=ANY)
def expand(op: ops.Expand, x):
    return np.broadcast_to(x, op.output.shape)


@kernel(ops.Tile, dtypes=ANY)
def tile(op: ops.Tile, x):
    return np.tile(x, op.repeats)


@kernel(ops.DepthToSpace, ops.SpaceToDepth, dtypes=ANY)
def block_shuffle(op, x):
    split, perm = op.rearrangement(x.shape)
    return np.reshape(np.transpose(np.reshape(x, split), perm), op.output.shape)


@kernel(ops.Trilu, dtypes=ANY)
def trilu(op: ops.Trilu, x):
    # np.triu/np.tril work on the last two axes of a stack of matrices.
    return np.triu(x, op.k) if op.upper else np.tril(x, op.k)
