"""Fresh names: the one rule every namespace of n2d2c uses (graph values, ONNX
tensors and nodes, C identifiers)."""

from __future__ import annotations

from typing import MutableSet


def unique_name(base: str, taken: MutableSet[str], sep: str = "_") -> str:
    """``base`` if it is not taken, else the first free ``base_1``, ``base_2``, ...;
    the name returned is added to ``taken``.

    Generated files spell names this way, so changing the rule changes their text.
    """
    name, i = base, 1
    while name in taken:
        name = f"{base}{sep}{i}"
        i += 1
    taken.add(name)
    return name
