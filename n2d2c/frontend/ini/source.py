"""Reading INI/template files and mapping text offsets back to file:line:col.

Template rendering splices text from several files (the template, included
templates, substituted parameter values) into one string that is then parsed
as INI.  ``LocatedText`` remembers where every piece came from so that an
error in the rendered text points at the template line that produced it.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from ...errors import InputError, SourceLocation
from .limits import IniLimits, limit_error
from ...util.inputs import note_input


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF (several corpus files use CRLF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_source(path: Path, limits: IniLimits, *, display: str | None = None,
                referrer: SourceLocation | str | None = None) -> str:
    """Read a text file under the size limit, decoded and newline-normalized.

    UTF-8 is tried first; other bytes are read as Latin-1 so that legacy files
    with accented comments still load (N2D2 itself is byte-oriented).
    """
    name = display or str(path)
    who = f" (referenced from {referrer})" if referrer else ""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot open INI file {name}{who}: {exc.strerror or exc}",
                         location=referrer) from None
    if size > limits.max_file_size:
        raise limit_error("max_file_size", f"size of {name} ({size} bytes)",
                          limits.max_file_size, referrer)
    try:
        note_input(path)
        with open(path, "rb") as handle:
            data = handle.read(limits.max_file_size + 1)
    except OSError as exc:
        raise InputError(f"cannot read INI file {name}{who}: {exc.strerror or exc}",
                         location=referrer) from None
    if len(data) > limits.max_file_size:  # the file grew after stat()
        raise limit_error("max_file_size", f"size of {name}", limits.max_file_size, referrer)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return normalize_newlines(text)


class LocatedText:
    """A string built from pieces, each knowing its origin (file, line, col).

    A *literal* piece is a verbatim copy of source text, so positions inside it
    advance line by line.  A non-literal piece (a substituted value) maps all of
    its characters to the place of the substitution.
    """

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._starts: list[int] = []
        self._origins: list[tuple[str, int, int, bool]] = []
        self._newlines: dict[int, list[int]] = {}
        self._length = 0

    @classmethod
    def from_file_text(cls, text: str, file: str) -> "LocatedText":
        located = cls()
        located.append(text, file, 1, 1)
        return located

    def __len__(self) -> int:
        return self._length

    def append(self, text: str, file: str, line: int, col: int, literal: bool = True) -> None:
        if not text:
            return
        self._pieces.append(text)
        self._starts.append(self._length)
        self._origins.append((file, line, col, literal))
        self._length += len(text)

    def extend(self, other: "LocatedText") -> None:
        for piece, origin in zip(other._pieces, other._origins):
            self.append(piece, *origin)

    def text(self) -> str:
        return "".join(self._pieces)

    def locate(self, offset: int) -> SourceLocation:
        """Source location of character ``offset`` of ``text()``."""
        if not self._pieces:
            return SourceLocation("<empty>", 1, 1)
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        file, line, col, literal = self._origins[index]
        if not literal:
            return SourceLocation(file, line, col)
        rel = min(offset - self._starts[index], len(self._pieces[index]))
        newlines = self._newlines.get(index)
        if newlines is None:
            piece = self._pieces[index]
            newlines = [i for i, ch in enumerate(piece) if ch == "\n"]
            self._newlines[index] = newlines
        count = bisect.bisect_left(newlines, rel)
        if count == 0:
            return SourceLocation(file, line, col + rel)
        return SourceLocation(file, line + count, rel - newlines[count - 1])
