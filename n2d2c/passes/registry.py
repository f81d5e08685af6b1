"""Pass name → pass class, shared by the CLI, pipeline strings and Python.

Built-in passes register themselves when ``n2d2c.passes`` is imported; users
add their own with ``--load-pass mymod.py`` (``load_pass_module``), whose
``@register_pass`` classes then work like built-in ones.

Passes that belong to a higher layer (``quantize`` in n2d2c/quantization,
``plan-memory`` in the C backend) cannot be imported from here: the top-level
package declares them with ``declare_pass(name, module)`` and the registry
imports that module the first time the name is looked up.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib.util
import re
import sys
import traceback
import typing
from pathlib import Path

from ..errors import InputError, N2D2CError, UsageError
from ..util.inputs import note_input
from .base import Pass, PassOption, supported_option_type

PASSES: dict[str, type[Pass]] = {}
# Pass name -> module that registers it when imported (see the module docstring).
_DECLARED: dict[str, str] = {}

_PASS_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
_LOADED: dict[Path, list[str]] = {}


def register_pass(cls: type[Pass]) -> type[Pass]:
    """Class decorator: make ``cls`` a frozen dataclass if needed and register it."""
    if not (isinstance(cls, type) and issubclass(cls, Pass)):
        raise UsageError(f"@register_pass needs a subclass of n2d2c.passes.Pass, got {cls!r}")
    if "__dataclass_fields__" not in cls.__dict__:
        cls = dataclasses.dataclass(frozen=True)(cls)
    where = f"{cls.__module__}.{cls.__qualname__}"
    if not isinstance(cls.name, str) or not _PASS_NAME.match(cls.name):
        raise UsageError(f"pass class {where} has name {cls.name!r}; a pass name is lowercase "
                         "words joined by '-', e.g. 'fuse-bn'")
    if "name" in {f.name for f in dataclasses.fields(cls)}:
        raise UsageError(f"pass class {where} declares 'name' as an option; write "
                         f"`name = {cls.name!r}` without a type annotation")
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING:
            raise UsageError(f"option '{f.name}' of pass '{cls.name}' ({where}) needs a default")
        if not supported_option_type(hints[f.name]):
            raise UsageError(f"option '{f.name}' of pass '{cls.name}' ({where}) has type "
                             f"{hints[f.name]}; options are bool, int, float, str, Literal or "
                             "tuple of those")
    other = PASSES.get(cls.name)
    if other is not None and other is not cls:
        raise UsageError(f"pass name '{cls.name}' is registered twice: by "
                         f"{other.__module__}.{other.__qualname__} and by {where}")
    PASSES[cls.name] = cls
    return cls


def declare_pass(name: str, module: str) -> None:
    """``module`` registers the pass ``name``; it is imported when the name is first used."""
    _DECLARED[name] = module


def _import_declared(names) -> None:
    for name in names:
        if name not in PASSES and name in _DECLARED:
            importlib.import_module(_DECLARED[name])


def get_pass(name: str) -> type[Pass]:
    """The pass class called ``name``; a UsageError with a suggestion otherwise."""
    _import_declared([name])
    cls = PASSES.get(name)
    if cls is None:
        raise UsageError(f"unknown pass '{name}'",
                         hint=suggest(name, set(PASSES) | set(_DECLARED), "passes"))
    return cls


def suggest(word: str, known, what: str) -> str:
    """'did you mean ...?' plus the full list, for hints."""
    known = sorted(known)
    close = difflib.get_close_matches(word.lower(), known, n=1, cutoff=0.6)
    listing = f"known {what}: {', '.join(known)}" if known else f"there are no {what}"
    return f"did you mean '{close[0]}'? {listing}" if close else listing


def pass_names() -> list[str]:
    _import_declared(list(_DECLARED))
    return sorted(PASSES)


def describe_passes() -> list[tuple[str, str, list[PassOption]]]:
    """(name, one-line description, options) of every registered pass, by name."""
    return [(name, PASSES[name].description(), PASSES[name].options()) for name in pass_names()]


def load_pass_module(path) -> list[str]:
    """Import the user's Python file ``path``; return the pass names it registered.

    The file is code the user asked to run (``--load-pass``).  Loading the same
    file twice is a no-op.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"pass module '{path}' does not exist")
    if not path.is_file() or path.suffix != ".py":
        raise InputError(f"pass module '{path}' is not a Python file (.py)")
    key = path.resolve()
    note_input(key)  # its code shapes the output: a build input
    if key in _LOADED:
        return list(_LOADED[key])
    digest = hashlib.sha1(str(key).encode()).hexdigest()[:8]
    module_name = f"n2d2c_user_passes.{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, key)
    module = importlib.util.module_from_spec(spec)
    before = dict(PASSES)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        _forget(module_name, before)
        raise InputError(f"pass module has a syntax error: {exc.msg}",
                         location=f"{path}:{exc.lineno}:{exc.offset or 0}") from None
    except Exception as exc:  # the user's code failed: report where, not our traceback
        _forget(module_name, before)
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).resolve() == key]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        detail = exc.message if isinstance(exc, N2D2CError) else f"{type(exc).__name__}: {exc}"
        raise InputError(f"importing pass module failed: {detail}", location=where) from None
    added = [name for name in PASSES if before.get(name) is not PASSES[name]]
    if not added:
        _forget(module_name, before)
        raise InputError(f"pass module '{path}' registers no pass",
                         hint="decorate a subclass of n2d2c.passes.Pass with @register_pass")
    _LOADED[key] = added
    return list(added)


def _forget(module_name: str, before: dict) -> None:
    sys.modules.pop(module_name, None)
    PASSES.clear()
    PASSES.update(before)
