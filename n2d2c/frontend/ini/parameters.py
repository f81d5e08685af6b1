"""Trained parameters: N2D2's text export, an ``.npz`` file or a dict of arrays.

``load_ini_network(..., params=X)`` accepts:

* a folder written by N2D2's ``exportNetworkFreeParameters`` (the ``weights``
  folder of a trained run).  Each layer has ``<layer>_weights.syntxt`` and
  ``<layer>_biases.syntxt`` (no biases file with ``NoBias=1``), BatchNorm layers
  ``<layer>_scales/_biases/_means/_variances.syntxt``; a single ``<layer>.syntxt``
  holding everything is read too.  Values are whitespace separated text:

  - Conv / Deconv (``WeightsExportFormat=OCHW``, the default): for each output,
    for each *connected* input channel, the kernel row by row; a line per output.
    ``HWCO``: for each kernel position, for each channel, for each connected
    output.  ``WeightsExportFlip=1`` reverses each kernel.
  - Fc (``OC``, the default): for each output, one weight per input value (the
    input flattened channel-major, as NCHW); ``CO`` is the transpose.
  - biases, scales, means, variances: one value per output.
  - single ``<layer>.syntxt`` file: each output's weights followed by its bias
    (BatchNorm: scale, bias, mean, variance per channel).

* an ``.npz`` file (read with ``allow_pickle=False``) or a mapping, with keys
  ``<layer>.weights`` and ``<layer>.biases`` (BatchNorm: ``<layer>.scales``,
  ``.biases``, ``.means``, ``.variances``), in ONNX layouts: Conv ``[M, C/g, kh,
  kw]`` (the full ``[M, C, kh, kw]`` is accepted for grouped or masked
  mappings), Deconv ``[C, M/g, kh, kw]``, Fc ``[M, K]``.

A layer with parameters that the source does not have is an error naming the
missing file or key (N2D2 refuses to run in that case as well).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ...errors import InputError, ResourceLimitError
from .paths import resolve_confined
from .props import LayerProps
from ...util.inputs import note_input

TEXT_SUFFIX = ".syntxt"
#: at most this many bytes of parameters for one tensor (a guard against
#: ``NbOutputs=1000000000`` in an untrusted INI file)
DEFAULT_MAX_PARAM_BYTES = 4 * 2**30


def check_size(props: LayerProps, shape: Sequence[int], limit: int, what: str) -> None:
    nbytes = 4 * int(np.prod([int(d) for d in shape], dtype=np.float64))
    if nbytes > limit:
        raise ResourceLimitError(
            f"[{props.section}]: the {what} {list(shape)} need {nbytes} bytes, more than the "
            f"limit of {limit} bytes for one parameter tensor", location=props.location,
            hint="pass a larger max_param_bytes to load_ini_network if the file is trusted")


class ParameterStore:
    """Where trained values come from; ``None`` sources mean 'use the fillers'."""

    def __init__(self, description: str, *, folder: Path | None = None,
                 arrays: Mapping[str, np.ndarray] | None = None,
                 max_param_bytes: int = DEFAULT_MAX_PARAM_BYTES) -> None:
        self.description = description
        # a float32 written as text takes up to ~16 characters
        self.max_text_bytes = 4 * max_param_bytes
        self.folder = folder
        self.arrays = dict(arrays) if arrays is not None else None
        self.used: set[str] = set()

    @classmethod
    def open(cls, params, ini_path: Path, allow_dirs: Sequence[Path],
             max_param_bytes: int = DEFAULT_MAX_PARAM_BYTES) -> "ParameterStore | None":
        if params is None:
            return None
        if isinstance(params, Mapping):
            arrays = {str(k): np.asarray(v) for k, v in params.items()}
            return cls("the params mapping", arrays=arrays, max_param_bytes=max_param_bytes)
        if not isinstance(params, (str, os.PathLike)):
            raise InputError(f"params must be a folder, an .npz file or a mapping of arrays, "
                             f"got {type(params).__name__}")
        raw = os.fspath(params)
        base = ini_path.resolve().parent
        path = resolve_confined(raw, base, allow_dirs, what="parameter source",
                                location=str(ini_path), must_exist=False)
        if path.is_dir():
            return cls(f"parameter folder '{raw}'", folder=path, max_param_bytes=max_param_bytes)
        if not path.is_file():
            raise InputError(f"parameter source '{raw}' does not exist ({path})")
        try:
            with np.load(path, allow_pickle=False) as npz:
                for key in npz.files:
                    _check_npz_member(npz, key, raw, max_param_bytes)
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read parameters from '{raw}': {exc}",
                             hint="expected an .npz file or a folder of N2D2 .syntxt files") \
                from None
        return cls(f"parameter file '{raw}'", arrays=arrays, max_param_bytes=max_param_bytes)

    # -- raw access ---------------------------------------------------------------

    def array(self, section: str, kind: str) -> np.ndarray | None:
        key = f"{section}.{kind}"
        if self.arrays is None or key not in self.arrays:
            return None
        self.used.add(key)
        value = self.arrays[key]
        if value.dtype.kind not in "fiu":
            raise InputError(f"{self.description}: '{key}' has element type {value.dtype}; "
                             "expected numbers")
        return value.astype(np.float32)

    def text_file(self, section: str, suffix: str) -> Path | None:
        """``<section><suffix>.syntxt`` in the folder, or None when it does not exist."""
        assert self.folder is not None
        name = f"{section}{suffix}{TEXT_SUFFIX}"
        if "/" in name or "\\" in name or name.startswith(".."):
            # Section names may contain '/' (ONNX tensor names); N2D2 would
            # write into a sub-folder.  Keep it inside the parameter folder.
            name = name.replace("\\", "/")
        path = (self.folder / name)
        try:
            real = path.resolve()
        except OSError:
            return None
        if not real.is_relative_to(self.folder.resolve()) or not real.is_file():
            return None
        return real

    def read_text(self, path: Path) -> np.ndarray:
        size = path.stat().st_size
        if size > self.max_text_bytes:
            raise ResourceLimitError(
                f"parameter file '{path}' is {size} bytes, more than the limit of "
                f"{self.max_text_bytes} bytes", hint="pass a larger max_param_bytes to "
                                                       "load_ini_network if the file is trusted")
        try:
            text = path.read_text(encoding="ascii", errors="strict")
            note_input(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read parameter file '{path}': {exc}") from None
        try:
            return np.array(text.split(), dtype=np.float64)
        except ValueError as exc:
            raise InputError(f"parameter file '{path}' holds a value that is not a number "
                             f"({exc})") from None


def to_grouped(k: np.ndarray, groups: int) -> np.ndarray:
    """Dense per-output kernels ``[M, C, ...]`` -> ``[M, C/groups, ...]`` (each output keeps
    the channels of its group)."""
    if groups == 1:
        return k
    outputs, channels = k.shape[:2]
    og, cg = outputs // groups, channels // groups
    return np.concatenate([k[g * og:(g + 1) * og, g * cg:(g + 1) * cg] for g in range(groups)],
                          axis=0)


def _check_npz_member(npz, key: str, raw: str, limit: int) -> None:
    """Refuse an array whose header announces more than ``limit`` bytes (before reading it)."""
    with npz.zip.open(f"{key}.npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
            else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
    nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if nbytes > limit:
        raise ResourceLimitError(
            f"parameter file '{raw}': array '{key}' {list(shape)} needs {nbytes} bytes, more "
            f"than the limit of {limit} bytes", hint="pass a larger max_param_bytes to "
                                                      "load_ini_network if the file is trusted")


class Stream:
    """Consumes the numbers of one parameter file in order, checking the count."""

    def __init__(self, values: np.ndarray, path: Path) -> None:
        self.values = values
        self.path = path
        self.pos = 0

    def take(self, n: int) -> np.ndarray:
        if self.pos + n > self.values.size:
            raise InputError(f"parameter file '{self.path}' ends early: {self.values.size} "
                             f"values, more expected")
        out = self.values[self.pos:self.pos + n]
        self.pos += n
        return out

    def finish(self) -> None:
        if self.pos != self.values.size:
            raise InputError(f"parameter file '{self.path}' has {self.values.size} values, "
                             f"{self.pos} expected")


class LayerParameters:
    """The trained values of one layer, decoded from a ParameterStore."""

    def __init__(self, store: ParameterStore, props: LayerProps) -> None:
        self.store = store
        self.props = props
        self.section = props.section

    def _missing(self, what: str) -> InputError:
        return InputError(f"{self.store.description} has no {what} for layer [{self.section}]",
                          location=self.props.location,
                          hint="every layer with parameters needs its values")

    def _stream(self, suffix: str, required: bool = True) -> Stream | None:
        path = self.store.text_file(self.section, suffix)
        if path is None:
            if required:
                raise self._missing(f"file '{self.section}{suffix}{TEXT_SUFFIX}'")
            return None
        return Stream(self.store.read_text(path), path)

    def _vector(self, kind: str, n: int) -> np.ndarray:
        value = self.store.array(self.section, kind)
        if value is None:
            raise self._missing(f"'{self.section}.{kind}'")
        if value.size != n:
            raise InputError(f"{self.store.description}: '{self.section}.{kind}' has shape "
                             f"{list(value.shape)}, expected [{n}]", location=self.props.location)
        return value.reshape(n)

    # -- Conv / Deconv -------------------------------------------------------------------

    def kernels(self, mask: np.ndarray, kernel: tuple[int, int], bias: bool, *,
                transposed: bool, groups: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``G[o, c, kh, kw]`` over the channels of output ``o``'s group (all channels,
        zeroed where ``mask[c, o]`` is False, when ``groups`` is 1) and the biases."""
        channels, outputs = mask.shape
        kh, kw = kernel
        if self.store.folder is not None:
            k, b = self._kernels_text(mask, kernel, bias)
            return to_grouped(k, groups), b
        w = self.store.array(self.section, "weights")
        if w is None:
            raise self._missing(f"'{self.section}.weights'")
        cg, og = channels // groups, outputs // groups
        if transposed:
            dense_shape = (channels, outputs, kh, kw)
            grouped_shape = (channels, og, kh, kw)
        else:
            dense_shape = (outputs, channels, kh, kw)
            grouped_shape = (outputs, cg, kh, kw)
        if w.shape == grouped_shape:
            if not transposed:
                g = w
            else:
                g = np.concatenate([w[i * cg:(i + 1) * cg].transpose(1, 0, 2, 3)
                                    for i in range(groups)], axis=0)
            if groups == 1:
                g = np.where(mask.T[:, :, None, None], g, 0)
        elif w.shape == dense_shape:
            k = w.transpose(1, 0, 2, 3) if transposed else w
            k = np.where(mask.T[:, :, None, None], k, 0)
            g = to_grouped(k, groups)
        else:
            shapes = [list(grouped_shape)] + ([list(dense_shape)] if groups > 1 else [])
            raise InputError(f"{self.store.description}: '{self.section}.weights' has shape "
                             f"{list(w.shape)}, expected {' or '.join(map(str, shapes))}",
                             location=self.props.location)
        b = self._vector("biases", outputs) if bias else None
        return np.ascontiguousarray(g, dtype=np.float32), b

    def _kernels_text(self, mask, kernel, bias):
        channels, outputs = mask.shape
        kh, kw = kernel
        size = kh * kw
        fmt = self.props.choice("WeightsExportFormat", ("OCHW", "HWCO"), "OCHW")
        flip = self.props.bool("WeightsExportFlip", False)
        k = np.zeros((outputs, channels, size), np.float32)
        b = np.zeros(outputs, np.float32) if bias else None
        weights = self._stream("_weights", required=False)
        single = weights is None
        if single:
            weights = self._stream("", required=False)
            if weights is None:
                raise self._missing(f"file '{self.section}_weights{TEXT_SUFFIX}'")
        biases = None if single or not bias else self._stream("_biases")
        if fmt == "OCHW":
            for o in range(outputs):
                connected = np.nonzero(mask[:, o])[0]
                k[o, connected] = weights.take(len(connected) * size).reshape(-1, size)
                if bias and single:
                    b[o] = weights.take(1)[0]
        else:
            pairs = [(c, o) for c in range(channels) for o in range(outputs) if mask[c, o]]
            for index in range(size):
                values = weights.take(len(pairs))
                for (c, o), v in zip(pairs, values):
                    k[o, c, index] = v
            if bias and single:
                b[:] = weights.take(outputs)
        if biases is not None:
            b[:] = biases.take(outputs)
            biases.finish()
        weights.finish()
        if flip:
            k = k[:, :, ::-1]
        return k.reshape(outputs, channels, kh, kw), b

    # -- Fc ---------------------------------------------------------------------------

    def dense(self, outputs: int, inputs: int, bias: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """``W[outputs, inputs]`` and the biases."""
        if self.store.folder is not None:
            fmt = self.props.choice("WeightsExportFormat", ("OC", "CO"), "OC")
            weights = self._stream("_weights", required=False)
            single = weights is None
            if single:
                weights = self._stream("", required=False)
                if weights is None:
                    raise self._missing(f"file '{self.section}_weights{TEXT_SUFFIX}'")
            b = np.zeros(outputs, np.float32) if bias else None
            if fmt == "OC":
                w = np.zeros((outputs, inputs), np.float32)
                for o in range(outputs):
                    w[o] = weights.take(inputs)
                    if bias and single:
                        b[o] = weights.take(1)[0]
            else:
                w = weights.take(inputs * outputs).reshape(inputs, outputs).T.astype(np.float32)
                if bias and single:
                    b[:] = weights.take(outputs)
            weights.finish()
            if bias and not single:
                biases = self._stream("_biases")
                b[:] = biases.take(outputs)
                biases.finish()
            return w, b
        w = self.store.array(self.section, "weights")
        if w is None:
            raise self._missing(f"'{self.section}.weights'")
        if w.size != outputs * inputs or w.shape[0] != outputs:
            raise InputError(f"{self.store.description}: '{self.section}.weights' has shape "
                             f"{list(w.shape)}, expected [{outputs}, {inputs}]",
                             location=self.props.location)
        b = self._vector("biases", outputs) if bias else None
        return w.reshape(outputs, inputs), b

    # -- BatchNorm ----------------------------------------------------------------------

    def batchnorm(self, channels: int) -> dict[str, np.ndarray]:
        kinds = ("scales", "biases", "means", "variances")
        if self.store.folder is not None:
            out = {"scales": np.ones(channels, np.float32)}
            single = self.store.text_file(self.section, "_biases") is None
            if single:
                stream = self._stream("", required=False)
                if stream is None:
                    raise self._missing(f"file '{self.section}_biases{TEXT_SUFFIX}'")
                values = stream.take(4 * channels).reshape(channels, 4).T
                stream.finish()
                out.update(zip(kinds, (v.astype(np.float32) for v in values)))
            else:
                for kind in kinds:
                    stream = self._stream(f"_{kind}", required=kind != "scales")
                    if stream is None:
                        continue  # N2D2: scales are optional (1.0)
                    out[kind] = stream.take(channels).astype(np.float32)
                    stream.finish()
        else:
            out = {kind: self._vector(kind, channels) for kind in kinds[1:]}
            scales = self.store.array(self.section, "scales")
            out["scales"] = np.ones(channels, np.float32) if scales is None \
                else self._vector("scales", channels)
        if (out["variances"] < 0).any():
            raise InputError(f"{self.store.description}: layer [{self.section}] has a negative "
                             "variance", location=self.props.location)
        return out
