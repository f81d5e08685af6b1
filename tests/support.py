"""Helpers shared by every test folder (importable as `support`: pytest puts tests/ on
sys.path through tests/conftest.py).

`require_tool("g++")` skips with a reason when a program is missing locally, but
fails under CI=true: CI installs every tool (.ci/run), so a skip there would hide
an untested backend.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "n2d2-ini"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} on PATH (installed by .ci/run)"
    if in_ci():
        pytest.fail(f"{message}; CI=true, so this may not be skipped")
    pytest.skip(message)


def require_corpus() -> Path:
    if not CORPUS.is_dir():
        message = f"N2D2 INI corpus not found at {CORPUS}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return CORPUS
