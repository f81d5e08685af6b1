"""Per-layer kernel choices of the C++ target: register tilings, and the tune file.

A *tiling* of ``conv2d_direct`` is its register tile: ``nv`` output-channel vectors x ``pw``
output pixels.  By default the generated code derives it from the vector width the C++ is
compiled for (``n2d2c_support.hpp``: 4 x 6 with AVX-512, 2 x 6 with AVX2).  Two options
replace it (``-X KEY=VALUE``):

* ``tiling=PWxNV`` applies one tile to every direct convolution and dense layer, whatever the
  instruction set (the autotuner's candidates; experiments);
* ``tune=FILE`` reads per-layer choices from a tune file; ``tune=1`` makes one first by
  timing candidates on this machine (``autotune.py``).  The project then holds the choices
  as ``tune.json``; generating again with that file gives byte-identical code.

A tune file::

    {"format": "n2d2c-tune/1", "vlen": 16, "machine": "...",
     "layers": {"conv3": {"kernel": "direct", "tile": [8, 3]},
                "conv5": {"kernel": "winograd", "variant": "f43"}}}

``vlen`` is the vector width (floats) of the machine it was tuned on; a direct tile is used
only when the code is compiled for that width (an ``#if`` in the layer's shape), the default
tile otherwise, so that a file tuned on an AVX-512 machine still builds right for AVX2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError, UsageError
from ...util.flags import is_true_word

TUNE_FORMAT = "n2d2c-tune/1"
TUNE_FILE = "tune.json"

# Pixels per parallel task in the generated code (N2D2C_CHUNK): a tile's width divides it.
CHUNK = 48

# Candidate tiles (pw, nv) per vector width, the default first: every one keeps its
# accumulators, nv weight vectors and a broadcast in the vector registers (32 with
# AVX-512, 16 with AVX2/SSE).  Few-pixel layers (the deep layers of ResNets) want more
# channel vectors per pixel; wide images want more pixels per tile.
CANDIDATES: dict[int, tuple[tuple[int, int], ...]] = {
    16: ((6, 4), (8, 3), (12, 2), (4, 6), (16, 1)),
    8: ((6, 2), (4, 3), (12, 1), (3, 4)),
    4: ((6, 2), (4, 3), (12, 1), (3, 4)),
}


def asks_for_tuning(tune) -> bool:
    """Whether the ``tune`` option asks to tune now (1/true/yes/on) rather than naming a
    tune file or handing one over."""
    return isinstance(tune, str) and is_true_word(tune)


@dataclass(frozen=True)
class Tile:
    """A register tile; ``vlen`` is the only vector width it applies to (None: any)."""

    pw: int
    nv: int
    vlen: int | None = None
    origin: str = "tuned"

    def __post_init__(self):
        if self.pw < 1 or self.nv < 1 or CHUNK % self.pw:
            raise UsageError(f"register tile {self.pw}x{self.nv}: the pixel count must divide "
                             f"{CHUNK} (1, 2, 3, 4, 6, 8, 12, 16, ...) and both be positive")


def parse_tiling(text: str) -> Tile | None:
    """``"PWxNV"`` (e.g. ``"8x3"``) as a Tile for every layer, None for ""."""
    text = str(text or "").strip().lower()
    if not text:
        return None
    try:
        pw, nv = (int(part) for part in text.split("x"))
    except ValueError:
        raise UsageError(f"option 'tiling' of backend cpp takes PWxNV (e.g. 8x3), "
                         f"got {text!r}") from None
    return Tile(pw, nv, None, f"-X tiling={text}")


@dataclass
class Tuning:
    """The per-layer choices one generation uses."""

    layers: dict[str, dict]
    vlen: int | None = None
    machine: str = ""
    forced: Tile | None = None

    @classmethod
    def from_options(cls, tune, tiling="") -> "Tuning":
        """From the emitter options: ``tune`` is "" (none), a tune file's path, or the
        already-parsed file (a dict, as the autotuner hands it on)."""
        forced = parse_tiling(tiling)
        if isinstance(tune, dict):
            return cls.from_dict(tune, forced=forced, source="the autotuner")
        text = str(tune or "").strip()
        if not text:
            return cls({}, forced=forced)
        if asks_for_tuning(text):
            raise UsageError("option tune=1 of backend cpp runs the autotuner, which "
                             "`n2d2c compile` and n2d2c.compile do before generating; "
                             "the emitter takes a tune file")
        return cls.load(text, forced=forced)

    @classmethod
    def load(cls, path, forced: Tile | None = None) -> "Tuning":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"tune file '{path}' does not exist",
                             hint="-X tune=1 makes one; -X tune=PATH reads it") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"tune file '{path}' is not readable JSON: {exc}") from None
        return cls.from_dict(data, forced=forced, source=f"tune file '{path}'")

    @classmethod
    def from_dict(cls, data, *, forced: Tile | None = None, source: str) -> "Tuning":
        if not isinstance(data, dict) or data.get("format") != TUNE_FORMAT:
            raise InputError(f"{source} is not an n2d2c tune file (format {TUNE_FORMAT!r})")
        layers = data.get("layers", {})
        vlen = data.get("vlen")
        if not isinstance(layers, dict) or (vlen is not None and vlen not in CANDIDATES):
            raise InputError(f"{source}: 'layers' must map layer names to choices and "
                             f"'vlen' be one of {sorted(CANDIDATES)}")
        for name, choice in layers.items():
            if not isinstance(choice, dict) or choice.get("kernel") not in ("direct", "winograd"):
                raise InputError(f"{source}: layer {name!r} has no valid 'kernel' "
                                 f"(direct or winograd)")
        return cls(dict(layers), vlen, str(data.get("machine", "")), forced)

    def kernel_choice(self, layer: str) -> dict:
        """The choice recorded for ``layer`` ({} when none)."""
        return dict(self.layers.get(layer, {}))

    def tile(self, layer: str) -> Tile | None:
        """The direct convolution tile of ``layer``: forced, tuned, or None (the default)."""
        if self.forced is not None:
            return self.forced
        choice = self.layers.get(layer, {})
        if choice.get("kernel") != "direct" or "tile" not in choice:
            return None
        pw, nv = choice["tile"]
        return Tile(int(pw), int(nv), self.vlen, f"tuned on {self.machine or 'this machine'}")

    def to_dict(self) -> dict:
        return {"format": TUNE_FORMAT, "vlen": self.vlen, "machine": self.machine,
                "layers": {name: self.layers[name] for name in sorted(self.layers)}}

    def text(self) -> str:
        """The tune file, deterministic (sorted keys)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


__all__ = ["CANDIDATES", "TUNE_FILE", "TUNE_FORMAT", "Tile", "Tuning", "asks_for_tuning",
           "parse_tiling"]
