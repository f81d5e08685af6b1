"""Atomic output folders: a failed or interrupted command leaves the old folder or nothing."""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_output_dir(target: str | os.PathLike, *, keep_unchanged: bool = True,
                      changes: "FolderChanges | None" = None) -> Iterator[Path]:
    """Yield a scratch folder beside ``target``; on success it replaces ``target``.

    The scratch folder lives in the same parent so the final rename stays on
    one file system.  SIGTERM is turned into an exception while writing so that
    the scratch folder is removed instead of being left half-written.

    With ``keep_unchanged`` (the default) a file whose bytes equal the old folder's
    keeps the old file, modification time included, so that builds depending on it
    do not redo their work; when nothing differs at all the old folder stays as it
    is.  The swap itself is unchanged: readers see the old folder or the new one.
    ``changes``, when given, is filled with what was written, kept and removed.
    """
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    # mkdtemp makes the folder private (0700); an output folder gets the usual
    # permissions, as if it had been made with mkdir under the current umask.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(scratch, 0o777 & ~umask)
    previous = _install_sigterm_handler()
    try:
        yield scratch
        if target.is_dir() and keep_unchanged:
            found = carry_unchanged_files(scratch, target)
            if changes is not None:
                changes.update(found)
            if not found.written and not found.removed:
                shutil.rmtree(scratch, ignore_errors=True)
                return
        elif changes is not None:
            changes.update(FolderChanges(written=_relative_files(scratch)))
        backup = None
        if target.exists():
            backup = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, backup)
        os.replace(scratch, target)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        _restore_sigterm_handler(previous)


@dataclass
class FolderChanges:
    """Files (relative POSIX paths) of an output folder: rewritten or new, kept with
    their old bytes and modification time, and removed as stale."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def update(self, other: "FolderChanges") -> None:
        self.written, self.kept, self.removed = other.written, other.kept, other.removed


def _relative_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not p.is_symlink())


def _same_bytes(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and filecmp.cmp(a, b, shallow=False)


def carry_unchanged_files(scratch: Path, old: Path) -> FolderChanges:
    """Replace every file of ``scratch`` whose bytes equal its counterpart in ``old`` by
    the old file itself (a hard link, else a copy keeping its times); ``old`` is left
    intact, so a failure here still leaves the old folder."""
    found = FolderChanges()
    for name in _relative_files(scratch):
        previous = old / name
        fresh = scratch / name
        if previous.is_file() and not previous.is_symlink() and _same_bytes(fresh, previous):
            placeholder = fresh.with_name(f".{fresh.name}.keep-{os.getpid()}")
            try:
                os.link(previous, placeholder)
            except OSError:  # no hard links here (or another device): copy, times kept
                shutil.copy2(previous, placeholder)
            os.replace(placeholder, fresh)
            found.kept.append(name)
        else:
            found.written.append(name)
    new = set(found.written) | set(found.kept)
    found.removed = [name for name in _relative_files(old) if name not in new]
    return found


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives during an atomic write."""


def _raise_terminated(signum, frame):
    raise Terminated(f"terminated by signal {signum}")


def _install_sigterm_handler():
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _restore_sigterm_handler(previous):
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a file through a temporary beside it and a rename."""
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
