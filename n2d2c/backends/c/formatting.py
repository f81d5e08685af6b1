"""Text helpers for C-family output: float literals, arrays, constant bytes, re-indentation,
loop nests."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ...errors import InternalError
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


# Constant arrays (weights) are emitted as their bytes in string literals: GCC parses a
# string literal about ten times faster than a list of as many numbers (benchmarks/
# build_time.py), and bytes are bit-exact for every value, NaN payloads and -0 included.
ROW_BYTES = 4092   # bytes per literal: under C99's 4095-character minimum limit
_NUMPY_TYPES = {"float": np.float32, "int8_t": np.int8, "uint8_t": np.uint8,
                "int16_t": np.int16, "int32_t": np.int32, "int64_t": np.int64,
                "uint16_t": np.uint16}  # float16 bit patterns (io_types.py)
# Printable characters stand for themselves, except those a string literal or the
# preprocessor reads specially (quote, backslash, ``?`` of trigraphs) and those outside C's
# basic source character set; every other byte is a three-digit octal escape, which cannot
# swallow a following digit the way a hex escape would.
_SPECIAL = {ord(c) for c in '"\\?$@`'}
_SPELLING = [chr(b) if 0x20 <= b < 0x7f and b not in _SPECIAL else "\\%03o" % b
             for b in range(256)]
_SPELLING_LENGTH = np.array([len(text) for text in _SPELLING])
# Per byte, its spelling's four character slots (unused ones zero) and which are used, each
# packed in one uint32, so that spelling an array is two gathers and one selection.
_SPELLING_SLOTS = np.zeros((256, 4), np.uint8)
for _byte, _text in enumerate(_SPELLING):
    _SPELLING_SLOTS[_byte, :len(_text)] = np.frombuffer(_text.encode("ascii"), np.uint8)
_SPELLING_USED = (np.arange(4) < _SPELLING_LENGTH[:, None]).astype(np.uint8)
_SPELLING_SLOTS, _SPELLING_USED = (a.view(np.uint32).ravel()
                                   for a in (_SPELLING_SLOTS, _SPELLING_USED))


def const_bytes(values: np.ndarray, ctype: str) -> bytes:
    """The little-endian bytes of ``values`` stored as C type ``ctype`` (at least one element).

    Integers must fit ``ctype`` exactly; floats are rounded to float32 as the C code reads them.
    """
    if ctype not in _NUMPY_TYPES:
        raise InternalError(f"no byte encoding for constants of C type {ctype!r}")
    if np.asarray(values).dtype == np.float16:  # held as its bit patterns (io_types.py)
        values = np.asarray(values).view(np.uint16)
    dtype = np.dtype(_NUMPY_TYPES[ctype]).newbyteorder("<")
    flat = np.asarray(values).ravel()
    if flat.size == 0:
        flat = np.zeros(1, dtype)
    if dtype.kind in "iu":
        if flat.dtype.kind not in "iub":
            raise InternalError(f"constant of C type {ctype} holds {flat.dtype} values")
        info = np.iinfo(dtype)
        if flat.size and (int(flat.min()) < info.min or int(flat.max()) > info.max):
            raise InternalError(f"constant values do not fit {ctype}: "
                                f"[{int(flat.min())}, {int(flat.max())}]")
    return np.ascontiguousarray(flat.astype(dtype)).tobytes()


def c_string_body(data: bytes) -> str:
    """The characters between the quotes of a C string literal holding exactly ``data``."""
    codes = np.frombuffer(data, np.uint8)
    used = _SPELLING_USED[codes].view(np.bool_)
    return _SPELLING_SLOTS[codes].view(np.uint8)[used].tobytes().decode("ascii")


def c_string_rows(data: bytes, row_bytes: int = ROW_BYTES, separator: str = ",\n") -> str:
    """``data`` as quoted literals of ``row_bytes`` bytes each (the last may be shorter), one
    a line, joined by ``separator``: the rows of an ``unsigned char [rows][row_bytes]``
    initialiser (C, where a literal may fill its array without the terminating NUL) or,
    joined by ``"\\n"``, the pieces of one concatenated literal (C++)."""
    if not data:
        return '""'
    text = c_string_body(data)  # spelled at once: per row would be 10k small numpy calls
    lengths = _SPELLING_LENGTH[np.frombuffer(data, np.uint8)]
    row_chars = np.add.reduceat(lengths, np.arange(0, len(data), row_bytes))
    cuts = [0] + np.cumsum(row_chars).tolist()
    return separator.join(f'"{text[a:b]}"' for a, b in zip(cuts, cuts[1:]))


def byte_rows(nbytes: int) -> tuple[int, int]:
    """(rows, bytes a row) holding ``nbytes`` in literals of at most ``ROW_BYTES`` bytes,
    with less than one byte a row of padding."""
    rows = max(-(-nbytes // ROW_BYTES), 1)
    return rows, max(-(-nbytes // rows), 1)


def c_preview(values: np.ndarray, count: int = 4) -> str:
    """The first ``count`` values, for a comment next to bytes a reader cannot read."""
    flat = np.asarray(values).ravel()
    shown = [c_float(v) if flat.dtype.kind == "f" else str(int(v)) for v in flat[:count]]
    return ", ".join(shown) + (", ..." if flat.size > count else "")


def c_const_definition(symbol: str, storage: str, ctype: str, values: np.ndarray, align: str,
                       *, rows: bool) -> str:
    """``const ctype* const symbol`` pointing at ``values`` stored bit for bit in
    ``storage``, a union of their bytes (string literals) and the typed array, aligned by the
    ``align`` spelling.  ``rows``: one literal a row of an ``unsigned char[rows][n]`` (C, each
    within C99's limits); otherwise one literal in pieces with room for its NUL (C++)."""
    data = const_bytes(values, ctype)
    if rows:
        count, row_bytes = byte_rows(len(data))
        layout, init = f"[{count}][{row_bytes}]", f"{{{c_string_rows(data, row_bytes)}}}"
    else:
        layout, init = f"[{len(data) + 1}]", c_string_rows(data, separator="\n")
    return (f"// {np.asarray(values).size} values: {c_preview(values)}\n"
            f"static const union {{ unsigned char bytes{layout}; "
            f"{ctype} values[{max(np.asarray(values).size, 1)}]; }} {storage} {align} "
            f"= {{\n{init}\n}};\n"
            f"const {ctype}* const {symbol} = {storage}.values;")


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
