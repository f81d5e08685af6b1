"""Initial parameter values for untrained networks (N2D2's weight fillers).

``WeightsFiller`` / ``BiasFiller`` name one of the fillers below; their options
are ``<Filler>.<Option>`` keys of the layer (``WeightsFiller.Scaling=0.5``).
Defaults follow N2D2's documentation: a layer without a filler uses
``NormalFiller`` with mean 0.0 and standard deviation 0.05.

=================  ============================================================
``ConstantFiller``  ``Value`` [0.0]
``NormalFiller``    ``Mean`` [0.0], ``StdDev`` [1.0]
``UniformFiller``   ``Min`` [0.0], ``Max`` [1.0]
``HeFiller``        normal, std ``sqrt(2/n)``; ``VarianceNorm`` [FanIn] picks n
                    (FanIn, Average = (in+out)/2, FanOut); ``Scaling`` [1.0]
``XavierFiller``    uniform in ``[-s, s]``, ``s = sqrt(3/n)``, or normal with std
                    ``sqrt(1/n)`` (``Distribution`` [Uniform] / Normal);
                    ``VarianceNorm``, ``Scaling`` as for He
=================  ============================================================

Random numbers come from numpy's PCG64 seeded by ``(seed, crc32(layer name),
crc32(parameter))``: a layer's values depend only on the seed and its own name,
not on the order in which the network is built.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from .props import LayerProps

FILLERS = ("ConstantFiller", "NormalFiller", "UniformFiller", "HeFiller", "XavierFiller")
VARIANCE_NORMS = ("FanIn", "Average", "FanOut")


def rng_for(seed: int, section: str, what: str) -> np.random.Generator:
    words = [int(seed) & 0xFFFFFFFF, zlib.crc32(section.encode()), zlib.crc32(what.encode())]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def fill(props: LayerProps, key: str, shape: tuple[int, ...], *, fan_in: int, fan_out: int,
         seed: int) -> np.ndarray:
    """Values of the parameter ``key`` (``WeightsFiller``/``BiasFiller``) as float32."""
    rng = rng_for(seed, props.section, key)
    name = props.choice(key, FILLERS, "NormalFiller")
    if key not in props:  # N2D2's default filler: NormalFiller(0.0, 0.05)
        return _normal(rng, shape, 0.0, 0.05)
    if name == "ConstantFiller":
        return np.full(shape, props.float(f"{key}.Value", 0.0), dtype=np.float32)
    if name == "NormalFiller":
        mean = props.float(f"{key}.Mean", 0.0)
        std = props.float(f"{key}.StdDev", 1.0)
        if std < 0:
            raise props.error(f"{key}.StdDev", f"must be >= 0, got {std}")
        return _normal(rng, shape, mean, std)
    if name == "UniformFiller":
        low = props.float(f"{key}.Min", 0.0)
        high = props.float(f"{key}.Max", 1.0)
        if high < low:
            raise props.error(f"{key}.Max", f"{high} is below {key}.Min {low}")
        return _uniform(rng, shape, low, high)
    norm = props.choice(f"{key}.VarianceNorm", VARIANCE_NORMS, "FanIn")
    n = {"FanIn": fan_in, "Average": (fan_in + fan_out) / 2.0, "FanOut": fan_out}[norm]
    n = max(float(n), 1.0)
    scaling = props.float(f"{key}.Scaling", 1.0)
    if name == "HeFiller":
        return _normal(rng, shape, 0.0, math.sqrt(2.0 / n) * scaling)
    distribution = props.choice(f"{key}.Distribution", ("Uniform", "Normal"), "Uniform")
    if distribution == "Normal":
        return _normal(rng, shape, 0.0, math.sqrt(1.0 / n) * scaling)
    limit = math.sqrt(3.0 / n) * scaling
    return _uniform(rng, shape, -limit, limit)


# float32 draws: a float64 temporary of a 100M-weight layer would need 800 MB.
def _normal(rng: np.random.Generator, shape, mean: float, std: float) -> np.ndarray:
    values = rng.standard_normal(size=shape, dtype=np.float32)
    values *= np.float32(std)
    values += np.float32(mean)
    return values


def _uniform(rng: np.random.Generator, shape, low: float, high: float) -> np.ndarray:
    values = rng.random(size=shape, dtype=np.float32)
    values *= np.float32(high - low)
    values += np.float32(low)
    return values
