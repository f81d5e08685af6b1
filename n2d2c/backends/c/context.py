"""What kernel templates see: a strict context, operands and their pointer expressions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .views import View

if TYPE_CHECKING:  # pragma: no cover
    from .emitter import CEmitter


class Ctx(dict):
    """A template context: a dict whose keys read and write as attributes too.

    Strict: reading a key that was never set raises (in Python, AttributeError;
    in a template, jinja2's StrictUndefined error), so a misspelt name fails the
    render instead of printing ``None`` into the C code.  Optional entries are set
    to None explicitly by the preparation that knows them."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"template context has no '{name}' "
                                 f"(it has: {', '.join(sorted(self))})") from None

    def __setattr__(self, name: str, value) -> None:
        self[name] = value


class Pointer:
    """A C pointer expression for a view, resolved when rendered (after memory planning)."""

    def __init__(self, emitter: "CEmitter", view: View):
        self.emitter = emitter
        self.view = view

    def __str__(self) -> str:
        return self.emitter.pointer_expr(self.view)

    def __html__(self) -> str:  # pragma: no cover - jinja only calls __str__ without autoescape
        return str(self)


@dataclass(frozen=True)
class Operand:
    """A kernel operand as templates see it: a pointer expression and its view."""

    name: str
    ptr: Pointer
    view: View

    @property
    def shape(self):
        return self.view.shape

    @property
    def strides(self):
        return self.view.strides


@dataclass
class ConstArray:
    """A constant array of the weights file."""

    symbol: str
    data: np.ndarray
    ctype: str
    comment: str


__all__ = ["ConstArray", "Ctx", "Operand", "Pointer"]
