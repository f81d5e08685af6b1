"""Reading N2D2's window geometry keys: kernel/pool sizes, strides, paddings.

N2D2 lists dimensions innermost first, so ``KernelDims=5 3`` is 5 wide and 3
high; ``StrideX``/``PaddingX`` act along the width.  Every family has the same
four spellings, checked in N2D2's order: ``<Name>Dims`` (a list), ``<Name>``
(one value for both axes), ``<Name>X``/``<Name>Y`` (``Width``/``Height`` for
kernel and pool sizes, plus ``<Name>Size``).  Returned pairs are (height,
width), the IR's order.
"""

from __future__ import annotations

from ..props import LayerProps


def _pair_from_list(props: LayerProps, key: str, what: str, minimum: int) -> tuple[int, int]:
    values = props.list(key, item=int)
    if len(values) == 3:
        raise props.unsupported(key, f"3-D {what} ({' '.join(map(str, values))}) are not "
                                     "supported; n2d2c handles 2-D layers")
    if len(values) != 2:
        raise props.error(key, f"expects 2 values (width height), got {len(values)}")
    if any(v < minimum for v in values):
        raise props.error(key, f"values must be >= {minimum}, got {values}")
    return values[1], values[0]


def window(props: LayerProps, name: str) -> tuple[int, int]:
    """``Kernel``/``Pool`` size as (height, width)."""
    if f"{name}Dims" in props:
        return _pair_from_list(props, f"{name}Dims", f"{name.lower()}s", 1)
    if f"{name}Size" in props:
        size = props.positive(f"{name}Size")
        return size, size
    if f"{name}Depth" in props:
        raise props.unsupported(f"{name}Depth", "3-D layers are not supported")
    missing = [k for k in (f"{name}Width", f"{name}Height") if k not in props]
    if missing:
        raise props.error(None, f"needs {name}Dims, {name}Size or {name}Width and "
                                f"{name}Height (missing {', '.join(missing)})")
    return props.positive(f"{name}Height"), props.positive(f"{name}Width")


def pair(props: LayerProps, name: str, default: int, *, minimum: int) -> tuple[int, int]:
    """``Stride``/``Padding``/``Dilation``/``SubSample`` as (y, x)."""
    if f"{name}Dims" in props:
        return _pair_from_list(props, f"{name}Dims", f"{name.lower()} values", minimum)
    if f"{name}Z" in props:
        raise props.unsupported(f"{name}Z", "3-D layers are not supported")
    if name in props:
        value = props.int(name)
        if value < minimum:
            raise props.error(name, f"must be >= {minimum}, got {value}")
        return value, value
    y = props.int(f"{name}Y", default)
    x = props.int(f"{name}X", default)
    for key, v in ((f"{name}Y", y), (f"{name}X", x)):
        if v < minimum:
            raise props.error(key, f"must be >= {minimum}, got {v}")
    return y, x
