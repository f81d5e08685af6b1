"""TensorProto -> numpy, refusing malformed or oversized tensors before allocating."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ...errors import InputError


def declared_nbytes(tensor: TensorProto) -> int | None:
    """Bytes the tensor's dims and element type call for (None: not a fixed-size type)."""
    try:
        np_dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    except (KeyError, ValueError, TypeError):
        return None
    if np_dtype == np.dtype(object):
        return None
    count = math.prod(int(d) for d in tensor.dims)
    bits = {TensorProto.INT4: 4, TensorProto.UINT4: 4}.get(tensor.data_type)
    if bits is not None:
        return (count * bits + 7) // 8
    return count * np_dtype.itemsize


def tensor_to_array(tensor: TensorProto, check_bytes: Callable[[int, str], None],
                    what: str = "initializer") -> np.ndarray:
    if any(d < 0 for d in tensor.dims):
        raise InputError(f"{what} '{tensor.name}' has negative dimensions {list(tensor.dims)}")
    nbytes = declared_nbytes(tensor)
    if nbytes is not None:
        check_bytes(nbytes, f"{what} '{tensor.name}'")
        if tensor.HasField("raw_data") and len(tensor.raw_data) != nbytes:
            raise InputError(f"{what} '{tensor.name}' declares shape {list(tensor.dims)} "
                             f"({nbytes} bytes) but holds {len(tensor.raw_data)} bytes")
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as exc:  # malformed protobuf content: many exception types
        raise InputError(f"{what} '{tensor.name}' cannot be decoded: {exc}") from None
    return array


def sparse_to_array(sparse, check_bytes: Callable[[int, str], None]) -> np.ndarray:
    """Densify a SparseTensorProto (values + flat or coordinate indices)."""
    values = tensor_to_array(sparse.values, check_bytes, "sparse tensor values")
    indices = tensor_to_array(sparse.indices, check_bytes, "sparse tensor indices").astype(np.int64)
    shape = tuple(int(d) for d in sparse.dims)
    check_bytes(math.prod(shape) * values.dtype.itemsize, f"sparse tensor '{sparse.values.name}'")
    dense = np.zeros(shape, values.dtype)
    try:
        if indices.ndim == 2:
            indices = np.ravel_multi_index(tuple(indices.T), shape)
        dense.reshape(-1)[indices.reshape(-1)] = values.reshape(-1)
    except (ValueError, IndexError) as exc:
        raise InputError(f"sparse tensor '{sparse.values.name}' has bad indices: {exc}") from None
    return dense
