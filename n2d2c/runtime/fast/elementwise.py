"""Fast Clip (ReLU6 in most networks): one pass of np.clip instead of a maximum
and a minimum with a temporary in between; NaN propagates the same way."""

from __future__ import annotations

import numpy as np

from ...ir import ops
from ..registry import kernel


@kernel(ops.Clip, precision="fast")
def clip(op: ops.Clip, x):
    return np.clip(x, x.dtype.type(op.min), x.dtype.type(op.max))
