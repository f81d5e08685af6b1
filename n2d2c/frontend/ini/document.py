"""The loaded INI document: ordered sections of located, lazily evaluated values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ...errors import InputError, SourceLocation
from .convert import format_scalar, to_bool, to_float, to_int, to_list
from .evaluator import Evaluation, Resolver
from .arithmetic import as_number
from .expressions import Scalar
from .limits import IniLimits
from .paths import resolve_confined
from .values import Value

_MISSING: Any = object()

#: Section names N2D2 uses for the stimuli provider (the network input).
STIMULI_PROVIDER_NAMES = ("sp", "env")


@dataclass
class Property:
    """``key=value`` with where the key was written and, if copied, from where."""

    key: str
    value: Value
    key_location: SourceLocation
    #: name of the base section this property was copied from (``[x] base``)
    inherited_from: str | None = None

    @property
    def location(self) -> SourceLocation:
        return self.value.location


@dataclass(eq=False)
class Section:
    """One ``[name]`` section in document order."""

    name: str
    location: SourceLocation
    properties: dict[str, Property] = field(default_factory=dict)
    #: ``[name] base``: the section whose properties were copied in first
    base: str | None = None
    base_location: SourceLocation | None = None
    #: template file whose rendering produced this section, and the name of
    #: the ``[instance@file]`` section that instantiated it (innermost one)
    template: Path | None = None
    instance: str | None = None
    #: for an ``[name@file.ini.tpl]`` header: the template file it instantiates
    instantiates: Path | None = None
    _doc: "IniDocument | None" = field(default=None, repr=False)

    @property
    def is_template_instance(self) -> bool:
        """True for ``[name@file]`` sections (their properties are template inputs)."""
        return self.instantiates is not None

    def __contains__(self, key: str) -> bool:
        return key in self.properties

    def keys(self) -> list[str]:
        return list(self.properties)

    def get(self, key: str) -> Value | None:
        prop = self.properties.get(key)
        return prop.value if prop else None

    def config_section_names(self, model: str | None = None,
                             resolver: Resolver | None = None) -> list[str]:
        """Names listed by ``ConfigSection`` (``ConfigSection(model)`` wins if present)."""
        assert self._doc is not None
        key = f"ConfigSection({model})" if model and f"ConfigSection({model})" in self \
            else "ConfigSection"
        if key not in self:
            return []
        return self._doc.get_list(self.name, key, resolver=resolver)

    def config_sections(self, model: str | None = None,
                        resolver: Resolver | None = None) -> dict[str, Property]:
        """Properties of the ``ConfigSection`` sections, later ones overriding earlier.

        Keys stay as written (``WeightsFiller.Scaling`` is one key).
        """
        assert self._doc is not None
        merged: dict[str, Property] = {}
        key = f"ConfigSection({model})" if model and f"ConfigSection({model})" in self \
            else "ConfigSection"
        for name in self.config_section_names(model, resolver):
            section = self._doc.sections.get(name)
            if section is None:
                raise InputError(
                    f"section [{self.name}] uses ConfigSection {name!r}, but there is no "
                    f"section [{name}]", location=self.properties[key].location)
            merged.update(section.properties)
        return merged


class IniDocument:
    """A loaded INI file (templates expanded) with lazy, located values.

    ``value`` gives a property as written; ``evaluate`` and the typed getters
    compute it (variables, references, ``$(...)``), asking ``resolver`` for
    references the document cannot answer itself.
    """

    def __init__(self, path: Path, env: Mapping[str, str], limits: IniLimits,
                 allow_dirs: Sequence[Path] = ()) -> None:
        self.path = path
        self.env = env
        self.limits = limits
        self.allow_dirs = tuple(allow_dirs)
        #: properties written before the first section (``$VAR=`` definitions,
        #: ``DefaultModel=``...)
        self.globals = Section("", SourceLocation(str(path), 1, 1), _doc=self)
        self.sections: dict[str, Section] = {}
        #: (location, message) for questionable but accepted input
        self.warnings: list[tuple[SourceLocation, str]] = []
        self._cache: dict[tuple[str, str], Scalar] = {}
        self._loading = True

    # -- structure --------------------------------------------------------------

    def section_names(self) -> list[str]:
        """All section names in document order (template output spliced in place)."""
        return list(self.sections)

    def __iter__(self) -> Iterator[Section]:
        return iter(self.sections.values())

    def __contains__(self, name: str) -> bool:
        return name in self.sections

    def section(self, name: str) -> Section:
        try:
            return self.sections[name]
        except KeyError:
            raise InputError(f"{self.path}: no section [{name}]") from None

    def variables(self) -> dict[str, Value]:
        """Global ``$VAR=`` definitions (name without ``$`` -> value as written)."""
        return {k[1:]: p.value for k, p in self.globals.properties.items() if k.startswith("$")}

    def stimuli_provider(self) -> str | None:
        """Name of the stimuli-provider section: ``[sp]``, else ``[env]``, else None."""
        for name in STIMULI_PROVIDER_NAMES:
            if name in self.sections:
                return name
        return None

    def targets(self) -> list[str]:
        """``*.Target`` section names in order (``[softmax.Target]`` ...)."""
        return [name for name in self.sections if name.endswith(".Target")]

    def subsections(self, name: str) -> list[str]:
        """Sections named ``name.<something>`` (``sp.Transformation-1``...), in order."""
        prefix = name + "."
        return [n for n in self.sections if n.startswith(prefix)]

    # -- raw and evaluated values -------------------------------------------------

    def _section_or_globals(self, name: str) -> Section:
        return self.globals if name == "" else self.section(name)

    def _property(self, section: str, key: str) -> Property:
        sec = self._section_or_globals(section)
        prop = sec.properties.get(key)
        if prop is None:
            raise InputError(f"section [{section}] has no property {key}", location=sec.location)
        return prop

    def has(self, section: str, key: str) -> bool:
        sec = self.globals if section == "" else self.sections.get(section)
        return sec is not None and key in sec.properties

    def value(self, section: str, key: str) -> Value:
        """The value as written (text, location, scanned segments); not evaluated."""
        return self._property(section, key).value

    def evaluate(self, section: str, key: str, resolver: Resolver | None = None) -> Scalar:
        """Evaluate a property: a number when the result is numeric, else text."""
        prop = self._property(section, key)
        return as_number(Evaluation(self, self.env, resolver).property(section, key,
                                                                        prop.location))

    def evaluate_value(self, value: Value, section: str,
                       resolver: Resolver | None = None) -> Scalar:
        """Evaluate a ``Value`` as if it were read from ``section``."""
        return Evaluation(self, self.env, resolver).value(value, section)

    def _get(self, section: str, key: str, default, resolver, convert: Callable, **kw):
        if default is not _MISSING and not self.has(section, key):
            return default
        prop = self._property(section, key)
        raw = Evaluation(self, self.env, resolver).property(section, key, prop.location)
        return convert(raw, f"[{section}]{key}", prop.location, **kw)

    def get_int(self, section: str, key: str, default: Any = _MISSING, *,
                resolver: Resolver | None = None) -> int:
        return self._get(section, key, default, resolver, to_int)

    def get_float(self, section: str, key: str, default: Any = _MISSING, *,
                  resolver: Resolver | None = None) -> float:
        return self._get(section, key, default, resolver, to_float)

    def get_bool(self, section: str, key: str, default: Any = _MISSING, *,
                 resolver: Resolver | None = None) -> bool:
        return self._get(section, key, default, resolver, to_bool)

    def get_str(self, section: str, key: str, default: Any = _MISSING, *,
                resolver: Resolver | None = None) -> str:
        return self._get(section, key, default, resolver,
                         lambda v, where, loc: format_scalar(v))

    def get_list(self, section: str, key: str, default: Any = _MISSING, *,
                 item: Callable | type | None = None,
                 resolver: Resolver | None = None) -> list:
        """Elements split on spaces/commas; ``item`` may be int, float, bool or str."""
        converter = {int: to_int, float: to_float, bool: to_bool,
                     str: None, None: None}.get(item, item)  # type: ignore[arg-type]
        return self._get(section, key, default, resolver, to_list, item=converter)

    def resolve_file(self, section: str, key: str, *, resolver: Resolver | None = None,
                     must_exist: bool = True) -> Path:
        """Evaluate a path-valued property and confine it (see ``paths.py``).

        Relative paths are taken from the folder of the file where the value
        was written (a template's folder for template-generated sections).
        """
        prop = self._property(section, key)
        raw = self.get_str(section, key, resolver=resolver)
        base_dir = Path(prop.location.file).parent
        return resolve_confined(raw, base_dir, self.allow_dirs,
                                what=f"file named by [{section}]{key}",
                                location=prop.location, must_exist=must_exist)

    def _previous_section_name(self, name: str) -> str:
        names = self.section_names()
        if name not in self.sections:
            return ""
        index = names.index(name)
        section = self.sections[name]
        if index > 0 and section.instance is not None and names[index - 1] == section.instance:
            index -= 1  # N2D2 skips the template-instance section itself
        return names[index - 1] if index > 0 else ""
