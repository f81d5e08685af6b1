"""Reading an .onnx file: file checks, protobuf decoding, the ONNX checker.

External data is *not* read here (see external_data.py), so that a model with
unsupported ops is refused before its weights are loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from ...errors import InputError, UnsupportedError
from ...util.inputs import note_input
from .external_data import external_tensors

# Opset 6 is accepted too: it differs from 7 only in legacy broadcasting and a
# few attributes that the converters handle.
MIN_OPSET = 6
# Protobuf cannot decode messages of 2 GiB or more.
_PROTOBUF_LIMIT = 2**31 - 1


def read_model(path_or_model) -> tuple[onnx.ModelProto, str, Path | None]:
    """(model, name for messages, folder for external data or None)."""
    if isinstance(path_or_model, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(path_or_model)  # external data is loaded into the copy, not the caller's
        source = model.graph.name or "<model>"
        _check(model, source)
        return model, source, None
    if not isinstance(path_or_model, (str, os.PathLike)):
        raise InputError(f"expected an ONNX file path or an onnx.ModelProto, got "
                         f"{type(path_or_model).__name__}")
    path = Path(path_or_model)
    source = str(path)
    if not path.exists():
        raise InputError(f"model file '{source}' does not exist")
    if not path.is_file():
        raise InputError(f"'{source}' is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"'{source}' is empty; expected an ONNX model")
    if size > _PROTOBUF_LIMIT:
        raise InputError(f"'{source}' is {size} bytes, over protobuf's 2 GiB limit",
                         hint="save the weights as ONNX external data")
    try:
        data = path.read_bytes()
        note_input(path)
    except OSError as exc:
        raise InputError(f"cannot read '{source}': {exc.strerror}") from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InputError(f"'{source}' is not a valid ONNX file: its protobuf data cannot be "
                         f"decoded (truncated or not an ONNX model: {exc})") from None
    _check(model, source)
    return model, source, path.resolve().parent


def _check(model: onnx.ModelProto, source: str) -> None:
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise InputError(f"'{source}' is not an ONNX model (it has no IR version or no graph)")
    try:
        onnx.checker.check_model(_without_deprecated_ops(_without_external_data(model)))
    except Exception as exc:  # ValidationError, and C++ errors surfaced as others
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"'{source}' is not a valid ONNX model: {first}") from None


# Ops whose version at some opsets the checker refuses as deprecated although onnxruntime
# runs it and exporters wrote it: GroupNormalization 18-20 (scale and bias per group;
# opset 21 made them per channel).  Each such node is checked as an Identity of its
# input, which has the same result type; the converter reads the real node.
_DEPRECATED_BUT_READ = {"GroupNormalization": range(18, 21)}


def _without_deprecated_ops(model: onnx.ModelProto) -> onnx.ModelProto:
    versions = _DEPRECATED_BUT_READ.get
    opset = default_opset(model)
    nodes = [i for i, node in enumerate(model.graph.node)
             if node.domain in ("", "ai.onnx") and opset in versions(node.op_type, ())]
    if not nodes:
        return model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for i in nodes:
        node = copy.graph.node[i]
        node.CopyFrom(onnx.helper.make_node("Identity", node.input[:1], node.output[:1],
                                            name=node.name))
    return copy


def _without_external_data(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy for the checker in which external tensors are empty placeholders.

    Given a ModelProto, the checker would look for external files relative to
    the current directory; external_data.py checks them properly later.
    """
    if not external_tensors(model):
        return model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for tensor in external_tensors(copy):
        del tensor.external_data[:]
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.dims[:]
        tensor.dims.append(0)  # an empty tensor needs no data
    return copy


def default_opset(model: onnx.ModelProto) -> int | None:
    """The version of the default ("ai.onnx") domain; None if the model imports none."""
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None


def check_opset(model: onnx.ModelProto, source: str) -> None:
    opset = default_opset(model)
    if opset is not None and opset < MIN_OPSET:
        raise UnsupportedError(f"'{source}' uses ONNX opset {opset}; n2d2c reads opsets "
                               f"{MIN_OPSET} to {onnx.defs.onnx_opset_version()}",
                               hint="upgrade it with onnx.version_converter.convert_version")


def inline_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace calls of model-local functions by their bodies."""
    if not model.functions:
        return model
    try:
        import onnx.inliner
        return onnx.inliner.inline_local_functions(model)
    except Exception as exc:
        raise UnsupportedError(f"cannot inline the model's local functions: {exc}") from None
