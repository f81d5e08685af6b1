"""Helpers shared by the INI-language tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from n2d2c.errors import N2D2CError

# The corpus lives in the repository root's sibling folder ``shared/``.
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "n2d2-ini"


def error_of(func, *args, **kwargs) -> N2D2CError:
    """Run ``func`` and return the N2D2CError it raises (fails if none)."""
    with pytest.raises(N2D2CError) as info:
        func(*args, **kwargs)
    return info.value


def assert_at(err: N2D2CError, path: Path, line: int, col: int) -> None:
    """The error message starts with exactly ``path:line:col:``."""
    assert str(err).startswith(f"{path}:{line}:{col}: "), str(err)
