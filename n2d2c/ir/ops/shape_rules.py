"""Shape arithmetic shared by several op families."""

from __future__ import annotations

import math
from typing import Sequence


def broadcast_shapes(op, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """Numpy/ONNX multidirectional broadcasting; raises ``op.error`` on mismatch."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            raise op.error(f"operand shapes {list(map(list, shapes))} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def window_output(size: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
                  dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a sliding window (conv/pool) along one axis."""
    span = dilation * (kernel - 1) + 1
    num = size + pad_begin + pad_end - span
    n = (math.ceil(num / stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (n - 1) * stride >= size + pad_begin:
        # The last window would start entirely in the end padding: ONNX drops it.
        n -= 1
    return n


def normalize_axis(op, axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise op.error(f"axis {axis} out of range for rank {rank}")
    return axis % rank if rank else 0


def check_window(op, kernel: tuple[int, ...], strides: tuple[int, ...],
                 pads: tuple[int, ...], dilations: tuple[int, ...]) -> None:
    """Reject geometry no sliding window can have (zero stride, negative pad...)."""
    if any(k < 1 for k in kernel) or any(s < 1 for s in strides) or any(
            d < 1 for d in dilations) or any(p < 0 for p in pads):
        raise op.error(f"invalid window: kernel {list(kernel)}, strides {list(strides)}, "
                       f"pads {list(pads)}, dilations {list(dilations)} (kernel, strides and "
                       "dilations must be >= 1, pads >= 0)")
