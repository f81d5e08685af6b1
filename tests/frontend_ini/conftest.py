"""Fixtures for the INI-language tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from n2d2c.frontend.ini import load_ini

from support import require_corpus

from .helpers import CORPUS


@pytest.fixture
def corpus() -> Path:
    require_corpus()
    return CORPUS


@pytest.fixture
def write(tmp_path: Path):
    """write(name, text) -> Path: create a dedented file under tmp_path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


@pytest.fixture
def load(write):
    """load(text, **kw) -> IniDocument for an INI written to main.ini."""

    def _load(text: str, name: str = "main.ini", **kwargs):
        kwargs.setdefault("env", {})
        return load_ini(write(name, text), **kwargs)

    return _load


@pytest.fixture
def lower(write):
    """lower(text, name="net.ini", **kw) -> Graph for an INI network written to tmp_path."""
    from n2d2c.frontend.ini import load_ini_network

    def _lower(text: str, name: str = "net.ini", **kwargs):
        kwargs.setdefault("env", {})
        return load_ini_network(write(name, text), **kwargs)

    return _lower
