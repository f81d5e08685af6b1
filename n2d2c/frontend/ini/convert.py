"""Conversions from evaluated values to the types layers ask for.

The accepted spellings follow what N2D2 reads from its INI files: booleans as
0/1/true/false/yes/no, lists separated by spaces and/or commas, and integers
optionally written with thousands separators (``Refractory=10,000,000`` in
the spiking models).
"""

from __future__ import annotations

import math
import re
from typing import Callable

from ...errors import InputError, SourceLocation
from ...util.flags import SPELLINGS, boolean_word
from .arithmetic import as_number
from .expressions import Scalar

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
_LIST_SPLIT = re.compile(r"[\s,]+")


def format_scalar(value: Scalar) -> str:
    """Text form of an evaluated value (how it is spliced into a longer value)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _fail(kind: str, value: Scalar, where: str, loc: SourceLocation | None) -> InputError:
    text = format_scalar(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return InputError(f"{where} must be {kind}, got {text!r}", location=loc)


def to_int(value: Scalar, where: str, loc: SourceLocation | None) -> int:
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        return int(value.replace(",", ""))
    number = as_number(value)
    if isinstance(number, bool):
        return int(number)
    if isinstance(number, int):
        return number
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return int(number)
    raise _fail("an integer", value, where, loc)


def to_float(value: Scalar, where: str, loc: SourceLocation | None) -> float:
    number = as_number(value)
    if isinstance(number, str):
        raise _fail("a number", value, where, loc)
    return float(number)


def to_bool(value: Scalar, where: str, loc: SourceLocation | None) -> bool:
    if isinstance(value, (bool, int, float)):
        return bool(value)
    flag = boolean_word(value)
    if flag is None:
        raise _fail(f"a boolean ({SPELLINGS})", value, where, loc)
    return flag


def to_list(value: Scalar, where: str, loc: SourceLocation | None,
            item: Callable[[Scalar, str, SourceLocation | None], object] | None = None) -> list:
    """Split on spaces and commas; ``item`` converts each element (e.g. to_int)."""
    if not isinstance(value, str):
        parts: list[Scalar] = [value]
    else:
        parts = [p for p in _LIST_SPLIT.split(value.strip()) if p]
    if item is None:
        return [format_scalar(p) for p in parts]
    return [item(p, f"element {i} of {where}", loc) for i, p in enumerate(parts)]
