"""`n2d2c run --inputs FILE.npz|DIR --batch N`: many samples through the simulator,
N at a time, outputs stacked on axis 0 in sample order.

An .npz holds one array per graph input ([samples, ...] each; a single-input graph
also takes the key 'x'); a folder holds one .npy per sample (single-input graphs)
or one .npz per sample (an array per input name), read in file-name order.  The
last batch is padded with zeros and its padding dropped, and the fast simulator
forms every product one sample at a time, so the outputs are those of one-by-one
runs, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError, ShapeError, UsageError
from ..quantization.data import load_npy, load_npz


def _read_folder(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    files = sorted(p for p in path.iterdir() if p.suffix in (".npy", ".npz"))
    if not files:
        raise InputError(f"input folder '{path}' holds no .npy or .npz file")
    per_input: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for file in files:
        if file.suffix == ".npy":
            if len(names) != 1:
                raise InputError(f"'{file}': a .npy sample fits single-input graphs; this "
                                 f"one has inputs {', '.join(names)}",
                                 hint="give one .npz per sample with an array per input")
            sample = {names[0]: load_npy(file)}
        else:
            sample = load_npz(file)
        for name in names:
            if name not in sample:
                raise InputError(f"'{file}' has no array '{name}'; it holds "
                                 f"{', '.join(sample) or 'nothing'}")
            per_input[name].append(np.asarray(sample[name])[None])
    return {n: np.concatenate(arrays) for n, arrays in per_input.items()}


def read_samples(path: str, graph) -> dict[str, np.ndarray]:
    """Input name -> [samples, *per-sample shape] from an .npz or a folder."""
    names = [v.name for v in graph.inputs]
    source = Path(path)
    if source.is_dir():
        samples = _read_folder(source, names)
    elif source.exists():
        arrays = load_npz(source)
        if len(names) == 1 and names[0] not in arrays and "x" in arrays:
            arrays[names[0]] = arrays["x"]
        missing = [n for n in names if n not in arrays]
        if missing:
            raise InputError(f"'{path}' has no array for input {', '.join(missing)}; it holds "
                             f"{', '.join(arrays) or 'nothing'}")
        samples = {n: arrays[n] for n in names}
    else:
        raise InputError(f"inputs '{path}' do not exist")
    counts = set()
    for v in graph.inputs:
        want = tuple(v.type.shape[1:])
        got = samples[v.name]
        if got.ndim >= 2 and got.shape[1] == 1 and tuple(got.shape[2:]) == want:
            got = samples[v.name] = got[:, 0]  # samples saved as batches of one
        if tuple(got.shape[1:]) != want:
            raise ShapeError(f"input '{v.name}' from '{path}': samples of shape "
                             f"{list(got.shape[1:])}, the model expects {list(want)} per "
                             f"sample ({v.type})")
        counts.add(got.shape[0])
    if len(counts) != 1 or 0 in counts:
        raise InputError(f"'{path}': the inputs hold different or zero sample counts "
                         f"({sorted(counts)})")
    return samples


def run_samples(sim, samples: dict[str, np.ndarray], batch: int,
                profile: bool = False) -> dict[str, np.ndarray]:
    """Outputs of ``sim`` (a graph of batch ``batch``) over every sample, stacked;
    with ``profile``, ``sim.last_profile`` sums the per-op times of every batch."""
    total = len(next(iter(samples.values())))
    graph = sim.graph
    for v in graph.outputs:
        if not v.type.shape or v.type.shape[0] != batch:
            raise UsageError(f"output '{v.name}' ({v.type}) has no batch axis of {batch} "
                             f"samples first, so outputs cannot be split per sample")
    pieces: dict[str, list[np.ndarray]] = {v.name: [] for v in graph.outputs}
    seconds: list[float] = []
    for start in range(0, total, batch):
        count = min(batch, total - start)
        feeds = {}
        for name, array in samples.items():
            # The samples' own dtype: the simulator checks and converts it.
            chunk = np.zeros((batch, *array.shape[1:]), array.dtype)
            chunk[:count] = array[start:start + count]
            feeds[name] = chunk
        outputs = sim.run(feeds, profile=profile)
        for name, array in outputs.items():
            pieces[name].append(array[:count])
        if profile:
            seconds = [a + e.seconds for a, e in zip(seconds, outputs.profile)] if seconds \
                else [e.seconds for e in outputs.profile]
    if profile:
        sim.last_profile = [e._replace(seconds=t) for e, t in zip(sim.last_profile, seconds)]
    return {name: np.concatenate(parts) for name, parts in pieces.items()}
