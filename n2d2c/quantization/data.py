"""Calibration and evaluation data: files to arrays, arrays to simulator feeds.

``load_data(path)`` reads

* an ``.npz`` archive (``np.load(allow_pickle=False)``): the arrays named after
  the graph inputs, else ``x``, else its only array; ``y`` holds labels;
* an ``.npy`` array of samples;
* a folder of ``.npy``, ``.png`` and ``.pgm``/``.ppm`` files (sorted by name),
  one sample each.  Images become float32 in [0, 1] shaped [C, H, W] (1
  channel for grey, 3 for colour); they are not resized.

``make_feeds(graph, data, count)`` cuts ``[N, ...]`` arrays into one feed per
graph batch: with an input of shape [B, ...], samples i*B .. i*B+B-1 form feed
i.  A sample whose size matches but whose shape differs (e.g. flat [64] for
[1, 8, 8]) is reshaped; uint8 samples for a float input are scaled to [0, 1]
like images.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError, ShapeError, UsageError
from ..ir import Graph
from ..util.inputs import note_input

IMAGE_SUFFIXES = (".png", ".pgm", ".ppm", ".pnm")
SAMPLE_SUFFIXES = (".npy",) + IMAGE_SUFFIXES


def load_data(path: str | os.PathLike, *, input_names: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Arrays from a data file or folder: ``{"x": samples}`` (or one entry per graph
    input for a multi-input .npz) plus ``"y"`` when labels are present."""
    return select_inputs(read_arrays(path), input_names, path)


def read_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of a data file or folder: an .npz's by key, else ``{"x": samples}``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"calibration data '{path}' does not exist")
    note_input(path)
    if path.is_dir():
        return {"x": _load_folder(path)}
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path)
    if suffix == ".npy":
        return {"x": load_npy(path)}
    if suffix in IMAGE_SUFFIXES:
        return {"x": read_image(path)[None]}
    raise InputError(f"calibration data '{path}' is not an .npz/.npy file, an image or a folder")


def load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read '{path}' as an .npy array: {exc}") from None


def load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, zlib.error) as exc:
        raise InputError(f"cannot read '{path}' as an .npz archive: {exc}") from None
    if not arrays:
        raise InputError(f"'{path}' holds no arrays")
    return arrays


def select_inputs(arrays: Mapping[str, np.ndarray], input_names: Sequence[str],
                  path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``{"x": samples}`` or one entry per graph input, plus ``"y"`` (labels) if present:
    arrays named after every input, else ``x``, else the only array that is not ``y``."""
    out: dict[str, np.ndarray] = {}
    if input_names and all(n in arrays for n in input_names):
        out.update({n: arrays[n] for n in input_names})
    elif "x" in arrays:
        out["x"] = arrays["x"]
    else:
        candidates = [k for k in arrays if k != "y"]
        if len(candidates) != 1:
            raise InputError(f"'{path}' has arrays {sorted(arrays)}; name the samples 'x' "
                             "(or after the graph inputs)")
        out["x"] = arrays[candidates[0]]
    if "y" in arrays:
        out["y"] = arrays["y"]
    return out


def _load_folder(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SAMPLE_SUFFIXES)
    if not files:
        raise InputError(f"calibration folder '{folder}' has no .npy, .png or .pgm files")
    samples = []
    for file in files:
        note_input(file)
        sample = read_image(file) if file.suffix.lower() in IMAGE_SUFFIXES else load_npy(file)
        if samples and sample.shape != samples[0].shape:
            raise ShapeError(f"calibration sample '{file.name}' has shape {list(sample.shape)}, "
                             f"'{files[0].name}' has {list(samples[0].shape)}")
        samples.append(np.asarray(sample, np.float32))
    return np.stack(samples)


# -- images -------------------------------------------------------------------------
def read_image(path: Path) -> np.ndarray:
    """A PNG or PGM/PPM image as float32 [C, H, W] in [0, 1]."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read image '{path}': {exc}") from None
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            pixels, maxval = _decode_png(data)
        elif data[:2] in (b"P2", b"P5", b"P3", b"P6"):
            pixels, maxval = _decode_pnm(data)
        else:
            raise ValueError("not a PNG or PGM/PPM file")
    except (ValueError, zlib.error, struct.error, IndexError, OSError, SyntaxError) as exc:
        raise InputError(f"cannot decode image '{path}': {exc}") from None
    image = pixels.astype(np.float32) / np.float32(maxval)
    return image[None] if image.ndim == 2 else np.transpose(image, (2, 0, 1))


def _decode_pnm(data: bytes) -> tuple[np.ndarray, int]:
    magic = data[:2]
    tokens: list[bytes] = []
    pos = 2
    while len(tokens) < 3:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while data[pos:pos + 1] not in (b"\n", b""):
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        tokens.append(data[start:pos])
    width, height, maxval = (int(t) for t in tokens)
    channels = 3 if magic in (b"P3", b"P6") else 1
    count = width * height * channels
    if magic in (b"P2", b"P3"):
        values = np.array(data[pos:].split()[:count], dtype=np.int64)
    else:
        pos += 1  # the single whitespace after maxval
        dtype = np.uint8 if maxval < 256 else np.dtype(">u2")
        values = np.frombuffer(data, dtype=dtype, count=count, offset=pos)
    if values.size != count:
        raise ValueError("truncated pixel data")
    shape = (height, width) if channels == 1 else (height, width, 3)
    return values.reshape(shape), maxval


def _decode_png(data: bytes) -> tuple[np.ndarray, int]:
    """8/16-bit grey, grey+alpha, RGB or RGBA, non-interlaced PNG (alpha dropped)."""
    try:
        import io

        from PIL import Image  # optional: handles every PNG flavour
    except ImportError:
        Image = None
    if Image is not None:
        with Image.open(io.BytesIO(data)) as img:
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(img).astype(np.int64), 65535
            if img.mode not in ("L", "RGB"):
                colour = img.mode not in ("1", "L", "LA", "La", "F")
                img = img.convert("RGB" if colour else "L")
            return np.asarray(img), 255
    pos, chunks = 8, []
    width = height = depth = color = interlace = None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if channels is None or depth not in (8, 16) or interlace:
        raise ValueError("unsupported PNG flavour (install Pillow for palette/interlaced images)")
    bpp = channels * depth // 8
    stride = width * bpp
    raw = zlib.decompress(b"".join(chunks))
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int64)
    for row in range(height):
        kind = raw[row * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, row * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            elif kind == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            else:
                raise ValueError(f"bad PNG filter {kind}")
            cur[i] = (line[i] + pred) & 0xFF
        out[row] = cur
        prev = cur
    if depth == 16:
        pixels = out.view(">u2").reshape(height, width, channels).astype(np.int64)
        maxval = 65535
    else:
        pixels = out.reshape(height, width, channels)
        maxval = 255
    if channels in (2, 4):
        pixels = pixels[..., :-1]
    if pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return pixels, maxval


# -- feeds ----------------------------------------------------------------------------
def make_feeds(graph: Graph, data, count: int = -1) -> list[dict[str, np.ndarray]]:
    """One simulator feed per batch of the graph's inputs from ``data``: an array
    [N, ...] (single-input graphs), a mapping of input name (or ``x``) to arrays,
    or already a sequence of feed dicts.  ``count`` > 0 keeps the first ``count``
    samples."""
    if isinstance(data, (list, tuple)) and all(isinstance(d, Mapping) for d in data):
        feeds = [dict(d) for d in data]
        return feeds if count < 0 else feeds[:max(1, count)]
    if isinstance(data, (str, os.PathLike)):
        data = load_data(data, input_names=[v.name for v in graph.inputs])
    if not isinstance(data, Mapping):
        data = {"x": data}
    arrays = {}
    for i, v in enumerate(graph.inputs):
        if v.name in data:
            array = data[v.name]
        elif len(graph.inputs) == 1 and "x" in data:
            array = data["x"]
        else:
            raise UsageError(f"no data for graph input '{v.name}'; got {sorted(data)}")
        arrays[v.name] = _samples(v, np.asarray(array))
    sizes = {a.shape[0] for a in arrays.values()}
    if len(sizes) != 1:
        raise ShapeError("the graph inputs got different sample counts: "
                         + ", ".join(f"{k}: {a.shape[0]}" for k, a in arrays.items()))
    total = sizes.pop()
    if count > 0:
        total = min(total, count)
    feeds = []
    batches = {v.name: (v.shape[0] if v.type.rank else 1) for v in graph.inputs}
    batch = max(batches.values()) if batches else 1
    if total < batch:
        raise ShapeError(f"{total} sample(s) cannot fill one batch of {batch} "
                         f"(the graph inputs are {[str(v.type) for v in graph.inputs]})")
    for start in range(0, total - batch + 1, batch):
        feeds.append({v.name: arrays[v.name][start:start + batch].reshape(v.shape)
                      for v in graph.inputs})
    return feeds


def _samples(v, array: np.ndarray) -> np.ndarray:
    """``array`` as [N, *sample shape] in the input's dtype."""
    want = v.type
    sample_shape = want.shape[1:] if want.rank else ()
    sample_size = int(np.prod(sample_shape, dtype=np.int64))
    if array.shape == tuple(sample_shape):
        array = array[None]
    if array.ndim == 0 or array.shape[0] == 0 or array[0].size != sample_size:
        raise ShapeError(f"data for input '{v.name}' has shape {list(array.shape)}; expected "
                         f"[N, {', '.join(map(str, sample_shape))}] for {want}")
    array = array.reshape((array.shape[0],) + tuple(sample_shape))
    if array.dtype == np.uint8 and want.dtype.is_float:
        return (array.astype(np.float32) / np.float32(255.0)).astype(want.dtype.numpy)
    return array.astype(want.dtype.numpy)
