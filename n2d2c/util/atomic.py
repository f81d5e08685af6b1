"""Atomic output folders: a failed or interrupted command leaves the old folder or nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_output_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a scratch folder beside ``target``; on success it replaces ``target``.

    The scratch folder lives in the same parent so the final rename stays on
    one file system.  SIGTERM is turned into an exception while writing so that
    the scratch folder is removed instead of being left half-written.
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
