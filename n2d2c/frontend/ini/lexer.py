"""Line-level lexer: turns INI text into section-header and property lines.

N2D2's INI dialect is line oriented, so this is a small hand-written scanner
rather than a grammar.  The order of the steps follows N2D2's reader:

1. a physical line ending with ``\\`` continues on the next line (the pieces
   are glued without the backslash, so ``1 0 \\`` + ``1`` gives ``1 0 1``);
2. ``;`` and ``#`` start a comment anywhere outside double quotes (this is
   why ``#`` cannot appear in a value unless the value is quoted);
3. the line is trimmed; empty lines are skipped;
4. ``[name]``, ``[name] base``, ``[name]base`` and ``[name@template]`` are
   section headers; anything else must be ``key=value``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Iterator

from ...errors import ParseError, SourceLocation
from .source import LocatedText


class LogicalLine:
    """One logical line (continuations joined) and its char -> source map."""

    __slots__ = ("text", "_starts", "_offsets", "_source")

    def __init__(self, text: str, starts: list[int], offsets: list[int],
                 source: LocatedText) -> None:
        self.text = text
        self._starts = starts      # index in ``text`` where each physical piece starts
        self._offsets = offsets    # offset of that piece in ``source``
        self._source = source

    def loc(self, index: int) -> SourceLocation:
        piece = max(0, bisect.bisect_right(self._starts, index) - 1)
        return self._source.locate(self._offsets[piece] + index - self._starts[piece])


@dataclass(frozen=True)
class HeaderLine:
    name: str
    location: SourceLocation          # of the ``[``
    template: str | None              # raw text after ``@`` (env vars not expanded)
    template_location: SourceLocation | None
    base: str | None
    base_location: SourceLocation | None
    line: LogicalLine                 # to locate characters of ``template``
    template_start: int               # index of ``template[0]`` in ``line.text``


@dataclass(frozen=True)
class PropertyLine:
    key: str
    key_location: SourceLocation
    value: str                        # trimmed, surrounding quotes removed
    quoted: bool
    line: LogicalLine                 # to locate characters of the value
    value_start: int                  # index of ``value[0]`` in ``line.text``


def _logical_lines(source: LocatedText) -> Iterator[LogicalLine]:
    text = source.text()
    pending: list[tuple[str, int]] = []   # (physical text, offset) of continued lines
    pos = 0
    length = len(text)
    while pos <= length:
        end = text.find("\n", pos)
        if end < 0:
            end = length
        physical = text[pos:end]
        stripped = physical.rstrip(" \t")
        if stripped.endswith("\\"):
            pending.append((stripped[:-1], pos))
        elif pending or physical:
            pending.append((physical, pos))
            yield _join(pending, source)
            pending = []
        pos = end + 1
    if pending:  # a continuation on the very last line: keep what we have
        yield _join(pending, source)


def _join(pieces: list[tuple[str, int]], source: LocatedText) -> LogicalLine:
    starts, offsets, parts = [], [], []
    size = 0
    for part, offset in pieces:
        starts.append(size)
        offsets.append(offset)
        parts.append(part)
        size += len(part)
    return LogicalLine("".join(parts), starts, offsets, source)


_SPECIAL = re.compile(r'[";#]')


def _strip_comment(line: LogicalLine) -> str:
    """Cut the line at the first ``;`` or ``#`` that is not inside quotes."""
    text = line.text
    index = 0
    while True:
        match = _SPECIAL.search(text, index)
        if match is None:
            return text
        index = match.start()
        if text[index] != '"':
            return text[:index]
        close = text.find('"', index + 1)
        if close < 0:
            raise ParseError(
                f"unterminated quoted string in {text.strip()!r}: expected a closing '\"'",
                location=line.loc(index))
        index = close + 1


def _skip_spaces(text: str, index: int, end: int) -> int:
    while index < end and text[index] in " \t":
        index += 1
    return index


def _parse_header(line: LogicalLine, start: int, end: int) -> HeaderLine:
    text = line.text
    close = text.find("]", start + 1, end)
    if close < 0:
        raise ParseError(
            f"unterminated section header {text[start:end]!r}: expected ']'",
            location=line.loc(start))
    inner_start = _skip_spaces(text, start + 1, close)
    inner = text[inner_start:close].rstrip(" \t")
    if not inner:
        raise ParseError("empty section name in '[]': expected a name such as [conv1]",
                         location=line.loc(start))
    if "[" in inner:
        raise ParseError(f"unexpected '[' in section header {text[start:close + 1]!r}",
                         location=line.loc(inner_start + inner.index("[")))
    name, template, template_loc, template_start = inner, None, None, 0
    if "@" in inner:
        at = inner.index("@")
        name, template = inner[:at].rstrip(" \t"), inner[at + 1:].lstrip(" \t")
        template_start = inner_start + len(inner) - len(template)
        template_loc = line.loc(template_start)
        if not name:
            raise ParseError(f"missing instance name before '@' in [{inner}]",
                             location=line.loc(inner_start))
        if not template or "@" in template:
            raise ParseError(
                f"bad template instance header [{inner}]: expected [name@file.ini.tpl]",
                location=template_loc)
    if any(ch in name for ch in " \t"):
        raise ParseError(f"section name {name!r} contains a space",
                         location=line.loc(inner_start))
    base_start = _skip_spaces(text, close + 1, end)
    base = text[base_start:end].rstrip(" \t") or None
    if base is not None and any(ch in base for ch in " \t[]="):
        raise ParseError(
            f"unexpected text {base!r} after section header: expected one base "
            f"section name (as in '[conv1] conv_def') or nothing",
            location=line.loc(base_start))
    return HeaderLine(name, line.loc(start), template, template_loc,
                      base, line.loc(base_start) if base else None, line, template_start)


def iter_lines(source: LocatedText) -> Iterator[HeaderLine | PropertyLine]:
    """Yield the headers and properties of ``source`` in order."""
    for line in _logical_lines(source):
        body = _strip_comment(line)
        start = _skip_spaces(body, 0, len(body))
        end = len(body.rstrip(" \t\v\f"))
        if start >= end:
            continue
        if body[start] == "[":
            yield _parse_header(line, start, end)
            continue
        eq = body.find("=", start, end)
        if eq < 0:
            raise ParseError(
                f"expected 'key=value' or a '[section]' header, found {body[start:end]!r}",
                location=line.loc(start))
        key = body[start:eq].rstrip(" \t")
        if not key:
            raise ParseError("missing property name before '='", location=line.loc(start))
        value_start = _skip_spaces(body, eq + 1, end)
        value = body[value_start:end]
        quoted = len(value) >= 2 and value[0] == '"' and value[-1] == '"'
        if quoted:
            value, value_start = value[1:-1], value_start + 1
        yield PropertyLine(key, line.loc(start), value, quoted, line, value_start)
