"""Safe loading of tensors stored outside the .onnx file.

A model names the file of each external tensor; a hostile model can name
``../../etc/passwd``, an absolute path, or a symlink that leaves the model's
folder (the CVE-2024-27318/27319 family), or declare a 100 GB tensor in a
1 KB file.  Every location is therefore resolved (symlinks included) and must
stay inside the model's folder or an explicitly allowed one, and the declared
size must fit in the bytes present before anything is read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterator, Sequence

from onnx import AttributeProto, GraphProto, ModelProto, TensorProto

from ...errors import InputError
from .tensors import declared_nbytes
from ...util.inputs import note_input

_DRIVE = re.compile(r"^[A-Za-z]:")


def _graph_tensors(graph: GraphProto) -> Iterator[TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _node_tensors(node)


def _node_tensors(node) -> Iterator[TensorProto]:
    for attr in node.attribute:
        if attr.type == AttributeProto.TENSOR:
            yield attr.t
        elif attr.type == AttributeProto.TENSORS:
            yield from attr.tensors
        elif attr.type == AttributeProto.SPARSE_TENSOR:
            yield attr.sparse_tensor.values
            yield attr.sparse_tensor.indices
        elif attr.type == AttributeProto.GRAPH:
            yield from _graph_tensors(attr.g)
        elif attr.type == AttributeProto.GRAPHS:
            for g in attr.graphs:
                yield from _graph_tensors(g)


def external_tensors(model: ModelProto) -> list[TensorProto]:
    found = [t for t in _graph_tensors(model.graph) if t.data_location == TensorProto.EXTERNAL]
    for function in model.functions:
        for node in function.node:
            found.extend(t for t in _node_tensors(node) if t.data_location == TensorProto.EXTERNAL)
    return found


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_location(location: str, base_dir: Path, allow_dirs: Sequence[Path],
                     tensor: str, source: str) -> Path:
    """The real path of an external-data file, or InputError if it is not allowed."""
    where = f"'{source}': tensor '{tensor}' stores its data in '{location}'"
    if not location:
        raise InputError(f"{where}, an empty file name")
    if os.path.isabs(location) or location.startswith(("/", "\\")) or _DRIVE.match(location):
        raise InputError(f"{where}, an absolute path; external data must be given "
                         "relative to the model's folder")
    parts = re.split(r"[\\/]+", location)
    if ".." in parts:
        raise InputError(f"{where}, which climbs out of the model's folder with '..'")
    real = os.path.realpath(os.path.join(base_dir, *parts))
    roots = [os.path.realpath(d) for d in (base_dir, *allow_dirs)]
    if not any(_inside(real, root) for root in roots):
        raise InputError(f"{where}, which resolves to '{real}', outside the model's folder "
                         "(through a symbolic link)",
                         hint="if this location is trusted, allow its folder with --allow-dir")
    if not os.path.exists(real):
        raise InputError(f"{where}, which does not exist")
    if not os.path.isfile(real):
        raise InputError(f"{where}, which is not a regular file")
    return Path(real)


def load_external_data(model: ModelProto, base_dir: Path | None, allow_dirs: Sequence[Path],
                       check_bytes: Callable[[int, str], None], source: str) -> None:
    """Read every external tensor into ``raw_data`` after validating it."""
    tensors = external_tensors(model)
    if tensors and base_dir is None:
        raise InputError(f"'{source}' keeps tensor '{tensors[0].name}' in an external file; "
                         "load the model from its file path so the data can be found")
    for tensor in tensors:
        info = {entry.key: entry.value for entry in tensor.external_data}
        path = resolve_location(info.get("location", ""), base_dir, allow_dirs, tensor.name,
                                source)
        nbytes = declared_nbytes(tensor)
        if nbytes is None:
            raise InputError(f"'{source}': external tensor '{tensor.name}' has an element "
                             "type that cannot be stored externally")
        try:
            offset = int(info.get("offset", 0))
            length = int(info["length"]) if "length" in info else nbytes
        except ValueError:
            raise InputError(f"'{source}': tensor '{tensor.name}' has a malformed external "
                             f"offset/length {info}") from None
        if length != nbytes:
            raise InputError(f"'{source}': tensor '{tensor.name}' declares {length} bytes of "
                             f"external data, but its shape {list(tensor.dims)} needs {nbytes}")
        size = path.stat().st_size
        if offset < 0 or offset + nbytes > size:
            raise InputError(f"'{source}': tensor '{tensor.name}' needs bytes {offset} to "
                             f"{offset + nbytes} of '{path.name}', which has only {size} bytes")
        check_bytes(nbytes, f"external tensor '{tensor.name}'")
        try:
            note_input(path)
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(nbytes)
        except OSError as exc:
            raise InputError(f"cannot read external data '{path}': {exc.strerror}") from None
        if len(data) != nbytes:
            raise InputError(f"'{path}' ended early while reading tensor '{tensor.name}'")
        tensor.raw_data = data
        del tensor.external_data[:]
        tensor.data_location = TensorProto.DEFAULT
