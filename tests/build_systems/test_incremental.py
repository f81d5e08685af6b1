"""Generated files are rewritten only when their bytes change, and the output folder
stays atomic while unchanged files are carried over."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import n2d2c
from n2d2c.util.atomic import FolderChanges, atomic_output_dir

OLD = 1_000_000_000  # a modification time long past (2001), set on every generated file


def age_files(folder: Path) -> dict[str, int]:
    times = {}
    for p in folder.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(OLD * 10**9, OLD * 10**9))
            times[p.relative_to(folder).as_posix()] = p.stat().st_mtime_ns
    return times


def mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file()}


def test_recompile_keeps_unchanged_files(lenet_path, tmp_path):
    out = tmp_path / "out"
    first = n2d2c.compile(lenet_path, output_dir=out, backend="cpp", stimuli=2)
    before = age_files(out)
    inode = out.stat().st_ino
    again = n2d2c.compile(lenet_path, output_dir=out, backend="cpp", stimuli=2)
    assert again.written == () and again.removed == () and set(again.kept) == set(before)
    assert mtimes(out) == before and out.stat().st_ino == inode  # folder left as it was
    assert again.files == first.files

    # A new seed changes the stimuli and expected outputs only; one stimulus fewer
    # removes the stale files.
    changed = n2d2c.compile(lenet_path, output_dir=out, backend="cpp", stimuli=1, seed=7)
    assert set(changed.written) == {"stimuli/sample_000.npy", "expected/sample_000.npy"}
    assert set(changed.removed) == {"stimuli/sample_001.npy", "expected/sample_001.npy"}
    assert not (out / "stimuli" / "sample_001.npy").exists()
    now = mtimes(out)
    for name in changed.kept:
        assert now[name] == before[name], name
    for name in changed.written:
        assert now[name] != OLD * 10**9, name
    assert {"network.cpp", "weights.cpp", "network.hpp", "weights.hpp"} <= set(changed.kept)
    assert sorted(now) == [f.path for f in changed.files]


def test_failure_after_carrying_leaves_the_old_folder(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as scratch:
        (scratch / "same.txt").write_text("same")
        (scratch / "old.txt").write_text("old")
    before = age_files(out)
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out) as scratch:
            (scratch / "same.txt").write_text("same")
            (scratch / "old.txt").write_text("new")
            raise RuntimeError("backend failed")
    assert mtimes(out) == before and (out / "old.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no scratch left behind

    changes = FolderChanges()
    with atomic_output_dir(out, changes=changes) as scratch:
        (scratch / "same.txt").write_text("same")
        (scratch / "sub").mkdir()
        (scratch / "sub" / "new.txt").write_text("new")
    assert (changes.written, changes.kept, changes.removed) == \
        (["sub/new.txt"], ["same.txt"], ["old.txt"])
    assert mtimes(out)["same.txt"] == before["same.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_keep_unchanged_off_rewrites_everything(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as scratch:
        (scratch / "a.txt").write_text("a")
    before = age_files(out)
    with atomic_output_dir(out, keep_unchanged=False) as scratch:
        (scratch / "a.txt").write_text("a")
    assert mtimes(out)["a.txt"] != before["a.txt"]
