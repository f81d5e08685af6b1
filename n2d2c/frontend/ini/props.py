"""Reading one layer's properties: its own section first, then its ConfigSections.

N2D2 splits a layer's settings between the layer section (``KernelDims``,
``NbOutputs``...) and the sections named by ``ConfigSection`` ("configuration
parameters" such as ``NoBias``, ``Epsilon``, ``Dropout``).  The lowering does
not care where a key was written, so ``LayerProps`` looks in both: the layer
section wins, then the config sections in the order they are listed (a later
one overriding an earlier one, as N2D2 does).  Every value keeps its
``file:line:col`` so errors point at the text that caused them.
"""

from __future__ import annotations

from typing import Any, Callable

from ...errors import InputError, N2D2CError, SourceLocation, UnsupportedError
from .document import IniDocument
from .evaluator import Resolver

_MISSING: Any = object()


class LayerProps:
    """The properties that apply to one layer section, with typed, located getters."""

    def __init__(self, doc: IniDocument, section: str, resolver: Resolver | None,
                 model: str | None = None) -> None:
        self.doc = doc
        self.section = section
        self.resolver = resolver
        sec = doc.section(section)
        self.location: SourceLocation = sec.location
        #: key -> name of the section that holds it
        self.owner: dict[str, str] = {}
        self.config_names: list[str] = sec.config_section_names(model, resolver)
        for name in self.config_names:
            if name not in doc:
                key = "ConfigSection"
                raise InputError(f"section [{section}] uses ConfigSection {name!r}, but there "
                                 f"is no section [{name}]",
                                 location=sec.properties[key].location)
            for key in doc.section(name).properties:
                self.owner[key] = name
        for key in sec.properties:
            self.owner[key] = section
        self.read: set[str] = set()

    # -- structure -------------------------------------------------------------

    def __contains__(self, key: str) -> bool:
        return key in self.owner

    def keys(self) -> list[str]:
        return list(self.owner)

    def where(self, key: str) -> SourceLocation:
        """Location of ``key``'s value (or of the section header when absent)."""
        owner = self.owner.get(key)
        if owner is None:
            return self.location
        return self.doc.section(owner).properties[key].location

    def raw(self, key: str) -> str:
        """The value as written (not evaluated)."""
        return self.doc.section(self.owner[key]).properties[key].value.text

    def with_prefix(self, prefix: str) -> list[str]:
        return [k for k in self.owner if k.startswith(prefix)]

    # -- typed getters -----------------------------------------------------------

    def _get(self, getter: Callable, key: str, default, **kw):
        if key not in self.owner:
            if default is _MISSING:
                raise InputError(f"section [{self.section}] needs the property {key}",
                                 location=self.location)
            return default
        self.read.add(key)
        return getter(self.owner[key], key, resolver=self.resolver, **kw)

    def int(self, key: str, default: Any = _MISSING) -> int:
        return self._get(self.doc.get_int, key, default)

    def float(self, key: str, default: Any = _MISSING) -> float:
        return self._get(self.doc.get_float, key, default)

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        return self._get(self.doc.get_bool, key, default)

    def str(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(self.doc.get_str, key, default)
        return value.strip() if isinstance(value, str) else value

    def list(self, key: str, item=None, default: Any = _MISSING) -> list:
        return self._get(self.doc.get_list, key, default, item=item)

    def positive(self, key: str, default: Any = _MISSING, *, zero_ok: bool = False) -> int:
        value = self.int(key, default)
        if value < 0 or (value == 0 and not zero_ok):
            raise self.error(key, f"must be {'>= 0' if zero_ok else 'positive'}, got {value}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        """A keyword value; an unknown one is an InputError listing ``choices``."""
        value = self.str(key, default)
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    # -- errors ----------------------------------------------------------------------

    def error(self, key: str | None, message: str, cls: type[N2D2CError] = InputError,
              hint: str | None = None) -> N2D2CError:
        what = f"[{self.section}]{key}" if key else f"section [{self.section}]"
        return cls(f"{what}: {message}", location=self.where(key) if key else self.location,
                   hint=hint)

    def unsupported(self, key: str | None, message: str, hint: str | None = None) -> N2D2CError:
        return self.error(key, message, UnsupportedError, hint)

    def text(self, key: str) -> str:
        """The value evaluated when possible, else as written (for metadata)."""
        try:
            value = self.doc.evaluate(self.owner[key], key, resolver=self.resolver)
        except N2D2CError:
            return self.raw(key)
        return value if isinstance(value, str) else repr(value)
