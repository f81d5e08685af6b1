"""``lookup``: y = table[x - dtype_min(x)] (semantics: n2d2c/ir/ops/lookup.py).

One numpy gather: the table holds every result, so there is no arithmetic to
restate and the C kernel (templates/generic/lut.j2) indexes the same entries.
"""

from __future__ import annotations

import numpy as np

from ....ir import ops
from ...registry import kernel


@kernel(ops.Lookup, dtypes=ops.LOOKUP_INPUTS)
def lookup(op: ops.Lookup, x, table):
    index = np.asarray(x, np.int64) + np.int64(op.offset())
    return np.asarray(table)[index]
