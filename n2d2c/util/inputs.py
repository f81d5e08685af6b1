"""Which files a command read: the inputs a build system's depfile must list.

Frontends and data readers call ``note_input(path)`` for every file they open (the
model, ONNX external data, INI includes and templates, parameter files, calibration
data, export parameters).  ``record_inputs()`` collects them while it is active;
outside a recording ``note_input`` costs one lookup and keeps nothing.

A recording opened while another one is active joins it, so that a caller (the CLI)
that reads some files itself before calling the API gets one list of everything.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from pathlib import Path
from typing import Iterator

_ACTIVE: contextvars.ContextVar["InputRecord | None"] = contextvars.ContextVar(
    "n2d2c_input_record", default=None)


class InputRecord:
    """The files read during a recording, in first-read order, as absolute paths."""

    def __init__(self) -> None:
        self._paths: dict[Path, None] = {}

    def add(self, path: str | os.PathLike) -> None:
        self._paths.setdefault(Path(os.path.abspath(path)), None)

    def files(self) -> list[Path]:
        """The recorded paths that are regular files now (a folder that was listed is
        represented by the files read from it)."""
        return [p for p in self._paths if p.is_file()]


@contextlib.contextmanager
def record_inputs() -> Iterator[InputRecord]:
    """Collect the files noted while the block runs (joining an outer recording)."""
    active = _ACTIVE.get()
    if active is not None:
        yield active
        return
    record = InputRecord()
    token = _ACTIVE.set(record)
    try:
        yield record
    finally:
        _ACTIVE.reset(token)


def note_input(path: str | os.PathLike) -> None:
    """Record that ``path`` was read (a no-op outside ``record_inputs``)."""
    record = _ACTIVE.get()
    if record is not None:
        record.add(path)
