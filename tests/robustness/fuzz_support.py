"""Running one fuzz case: only N2D2CError may escape, no hang, no stray files."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from n2d2c.errors import InternalError, N2D2CError


class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: int):
    def on_alarm(signum, frame):
        raise CaseTimeout(f"fuzz case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run_case(fn, *, seconds: int, watch: Path) -> str:
    """Run ``fn``; return 'ok' or the error category. Anything else fails the test."""
    before = snapshot(watch)
    cwd = os.getcwd()
    try:
        with time_limit(seconds):
            fn()
        outcome = "ok"
    except InternalError as err:  # an N2D2CError, but it means a bug in n2d2c
        raise AssertionError(f"internal error on a fuzz case: {err}") from err
    except N2D2CError as err:
        assert str(err), "an N2D2CError must carry a message"
        outcome = type(err).__name__
    finally:
        os.chdir(cwd)
    assert snapshot(watch) == before, "a fuzz case wrote files it was not asked to"
    return outcome
