"""Files for build systems: Make/Ninja depfiles and the manifest of a generated folder."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

from .atomic import atomic_write_bytes


def escape_make_path(path: str | os.PathLike) -> str:
    """``path`` as one word of a Make rule, which Ninja's depfile parser reads the same
    way: spaces and ``#`` behind a backslash, ``$`` doubled, backslashes before them
    doubled (GCC's -MD spelling).  A line break cannot be spelled: ValueError."""
    text = os.fspath(path)
    if "\n" in text or "\r" in text:
        raise ValueError(f"cannot list {text!r} in a depfile: its name holds a line break")
    out = []
    backslashes = 0
    for ch in text:
        if ch == "\\":
            backslashes += 1
            continue
        if ch in " \t#":
            out.append("\\" * (2 * backslashes + 1) + ch)
        else:
            out.append("\\" * backslashes + ("$$" if ch == "$" else ch))
        backslashes = 0
    out.append("\\" * backslashes)
    return "".join(out)


def depfile_text(target: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> str:
    """``target: input...``, one input per line, then an empty rule per input so that a
    deleted input makes Make rebuild instead of failing (GCC's -MP)."""
    deps = [escape_make_path(p) for p in inputs]
    lines = [f"{escape_make_path(target)}:" + "".join(f" \\\n  {d}" for d in deps), ""]
    lines += [f"{d}:\n" for d in deps]
    return "\n".join(lines)


def write_depfile(path: str | os.PathLike, target: str | os.PathLike,
                  inputs: Iterable[str | os.PathLike]) -> None:
    atomic_write_bytes(path, depfile_text(target, inputs).encode("utf-8"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_text(entries: dict[str, dict]) -> str:
    """The JSON manifest: ``{"files": {relative path: {"bytes", "sha256"}}}``, sorted,
    so that it is byte-identical when the files are."""
    return json.dumps({"format": "n2d2c-manifest-1", "files": entries}, indent=2,
                      sort_keys=True) + "\n"
