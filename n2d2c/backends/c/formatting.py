"""Text helpers for C-family output: float literals, arrays, re-indentation, loop nests."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .views import Loop


def c_float(x: float) -> str:
    """A float literal that reads back to the same float32 (``%.9g``), C and C++ alike."""
    x = float(np.float32(x))
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    text = "%.9g" % x
    if "." not in text and "e" not in text:
        text += ".0"
    return text + "f"


def c_float_array(values: np.ndarray, per_line: int = 8, indent: str = "    ") -> str:
    """Body of an array initialiser, ``per_line`` items a line (no braces)."""
    flat = np.asarray(values, dtype=np.float32).ravel()
    if flat.size == 0:
        return indent + "0.0f"
    finite = np.isfinite(flat)
    if finite.all():
        items = ["%.9g" % v for v in flat.tolist()]
        items = [s + "f" if ("." in s or "e" in s) else s + ".0f" for s in items]
    else:
        items = [c_float(v) for v in flat.tolist()]
    lines = [indent + ", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n".join(lines)


def c_int_array(values: Sequence[int], per_line: int = 16, indent: str = "    ",
                suffix: str = "") -> str:
    items = [f"{int(v)}{suffix}" for v in values] or ["0"]
    lines = [indent + ", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n".join(lines)


def _code_braces(line: str) -> tuple[int, int, int, str]:
    """(opening, closing, leading closing) braces of a line outside strings and comments."""
    opens = closes = lead = 0
    seen_code = False
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            seen_code = True
        elif line.startswith("//", i) or line.startswith("/*", i):
            break
        elif ch == "{":
            opens += 1
            seen_code = True
        elif ch == "}":
            closes += 1
            if not seen_code:
                lead += 1
        elif not ch.isspace():
            seen_code = True
        i += 1
    return opens, closes, lead, line[:i]


def reindent(code: str, unit: str = "    ") -> str:
    """Re-indent C code by brace depth so that templates need not care about whitespace.

    Preprocessor lines keep column 0 except ``#pragma``, which follows the code.
    Consecutive blank lines are collapsed.
    """
    out: list[str] = []
    depth = 0
    blank = False
    for raw in code.splitlines():
        line = raw.strip()
        if not line:
            if not blank and out and not out[-1].endswith("{"):
                out.append("")
            blank = True
            continue
        blank = False
        if line.startswith("#") and not line.startswith("#pragma"):
            out.append(line)
            continue
        # Namespaces do not indent their content.
        if line.startswith("namespace ") and line.endswith("{") or line.startswith("}  // namespace"):
            out.append(line)
            continue
        opens, closes, lead, _ = _code_braces(line)
        if lead and out and out[-1] == "":
            out.pop()
        level = max(depth - lead, 0)
        out.append(unit * level + (" " + line if line.startswith("*") else line))
        depth = max(depth + opens - closes, 0)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


class Nest:
    """A loop nest over named views: ``open()``, ``index(name)``, ``close()``.

    ``loops`` come from ``views.loop_nest``; ``names`` name the views in the
    order their strides appear in each Loop.
    """

    def __init__(self, loops: Sequence[Loop], names: Sequence[str], var: str = "i"):
        self.loops = list(loops)
        self.names = list(names)
        self.var = var

    @property
    def total(self) -> int:
        n = 1
        for lp in self.loops:
            n *= lp.extent
        return n

    @property
    def depth(self) -> int:
        return len(self.loops)

    def extent(self, level: int) -> int:
        return self.loops[level].extent

    def open(self, pragma: str = "", levels: int | None = None) -> str:
        lines = []
        for d, lp in enumerate(self.loops[:levels]):
            if d == 0 and pragma:
                lines.append(pragma)
            lines.append(f"for (int {self.var}{d} = 0; {self.var}{d} < {lp.extent}; "
                         f"++{self.var}{d}) {{")
        return "\n".join(lines)

    def close(self, levels: int | None = None) -> str:
        return "\n".join("}" * len(self.loops[:levels]))

    def index(self, name: str, levels: int | None = None) -> str:
        k = self.names.index(name)
        terms = []
        for d, lp in enumerate(self.loops[:levels]):
            s = lp.strides[k]
            if s == 0:
                continue
            v = f"{self.var}{d}"
            terms.append(v if s == 1 else f"{v} * {s}")
        return " + ".join(terms) if terms else "0"

    def contiguous(self, name: str) -> bool:
        """The innermost loop walks ``name`` with stride 1 (or there is no loop)."""
        return not self.loops or self.loops[-1].strides[self.names.index(name)] == 1
