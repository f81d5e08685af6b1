"""Confining the files an INI document may open.

Templates, ``{% include %}`` files and any file named by a property (weights,
ONNX models, label maps) may only be opened inside the folder of the file that
names them or inside one of the caller's ``allow_dirs``.  The check is done
twice: on the normalized path (catches ``..`` and absolute paths) and on the
fully resolved path (catches symlinks pointing outside).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ...errors import InputError, SourceLocation
from ...util.inputs import note_input

ALLOW_HINT = "copy the file next to the INI file, or allow its folder with allow_dirs " \
             "(--allow-dir on the command line)"


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_confined(raw: str, base_dir: Path, allow_dirs: Sequence[Path], *,
                     what: str, location: SourceLocation | str | None,
                     must_exist: bool = True) -> Path:
    """Resolve ``raw`` (already variable-expanded) against ``base_dir``.

    ``what`` names the file's role for messages ("template file", "include").
    Returns the real (symlink-free) path.  Raises InputError when the path
    escapes the allowed folders, or when ``must_exist`` and it is not a file.
    """
    if not raw or "\0" in raw:
        raise InputError(f"invalid {what} path {raw!r}", location=location)
    candidate = Path(raw)
    if not candidate.is_absolute():
        candidate = base_dir / candidate
    lexical = Path(os.path.normpath(os.path.abspath(candidate)))
    folders = [base_dir, *allow_dirs]
    plain_roots = [Path(os.path.normpath(os.path.abspath(f))) for f in folders]
    real_roots = [Path(os.path.realpath(f)) for f in folders]
    shown = ", ".join(str(f) for f in plain_roots)
    if not _inside(lexical, plain_roots + real_roots):
        if ".." in Path(raw).parts:
            why = "its '..' leaves"
        elif Path(raw).is_absolute():
            why = "this absolute path is outside"
        else:
            why = "it is outside"
        raise InputError(f"refusing {what} {raw!r}: {why} the allowed folders ({shown})",
                         location=location, hint=ALLOW_HINT)
    real = Path(os.path.realpath(lexical))
    if not _inside(real, real_roots):
        raise InputError(
            f"refusing {what} {raw!r}: it is a symlink that resolves to {real}, outside "
            f"the allowed folders ({shown})", location=location, hint=ALLOW_HINT)
    if must_exist:
        try:
            state = None if real.is_file() else \
                "is not a regular file" if real.exists() else "does not exist"
        except OSError as exc:  # name too long, permission denied...
            state = f"cannot be accessed ({exc.strerror or exc})"
        if state:
            raise InputError(f"{what} {raw!r} not found: {lexical} {state}",
                             location=location)
    note_input(real)  # a template, include or file a property names: a build input
    return real
