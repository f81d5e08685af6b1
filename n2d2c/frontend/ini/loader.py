"""Building an ``IniDocument``: sections, base-section copies and templates.

Template instances are expanded the way N2D2 does it: when the section that
follows an ``[name@file.ini.tpl]`` section starts (or at the end of the text),
the template is rendered with that section's properties as parameters (plus
``SECTION_NAME`` and ``SECTION_FILE_NAME``) and the rendered text is parsed as
INI right there, so its sections come right after the instance section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from ...errors import InputError, N2D2CError, ParseError, SourceLocation
from .convert import format_scalar
from .document import IniDocument, Property, Section
from .evaluator import Evaluation
from .lexer import HeaderLine, PropertyLine, iter_lines
from .limits import IniLimits, limit_error
from .paths import resolve_confined
from .source import LocatedText, read_source
from .template_render import render_template
from .templates import TemplateParser, TemplateSource
from .values import Literal, VarRef, scan_value


class Loader:
    def __init__(self, path: Path, env: Mapping[str, str], allow_dirs: Sequence[Path],
                 limits: IniLimits) -> None:
        self.limits = limits
        self.allow_dirs = tuple(Path(d) for d in allow_dirs)
        self.doc = IniDocument(path, env, limits, self.allow_dirs)
        self.templates: dict[Path, list] = {}
        self.parser = TemplateParser(limits, self._load_include)
        self._pending_bases: list[Section] = []

    # -- entry ------------------------------------------------------------------

    def load(self, path: Path) -> IniDocument:
        text = read_source(path, self.limits)
        located = LocatedText.from_file_text(text, str(path))
        self._load_text(located, path.parent, depth=0, origin=None)
        self._resolve_pending_bases()
        self.doc._loading = False
        return self.doc

    # -- INI text ---------------------------------------------------------------

    def _load_text(self, located: LocatedText, base_dir: Path, depth: int,
                   origin: tuple[str, Path] | None) -> None:
        """Parse INI text; ``origin`` = (instance name, template) for rendered text."""
        current = self.doc.globals
        instance: tuple[Section, HeaderLine] | None = None
        for line in iter_lines(located):
            if isinstance(line, HeaderLine):
                self._finish(current)
                if instance:
                    self._instantiate(*instance, base_dir, depth)
                    instance = None
                current = self._new_section(line, origin)
                if line.template is not None:
                    instance = (current, line)
            else:
                self._add_property(current, line)
        self._finish(current)
        if instance:
            self._instantiate(*instance, base_dir, depth)

    def _new_section(self, line: HeaderLine, origin: tuple[str, Path] | None) -> Section:
        doc = self.doc
        if line.name in doc.sections:
            first = doc.sections[line.name].location
            raise ParseError(f"duplicate section [{line.name}] (first defined at {first})",
                             location=line.location)
        if len(doc.sections) >= self.limits.max_sections:
            raise limit_error("max_sections", "number of sections", self.limits.max_sections,
                              line.location)
        section = Section(line.name, line.location, base=line.base,
                          base_location=line.base_location, _doc=doc)
        if origin is not None:
            section.instance, section.template = origin
        doc.sections[line.name] = section
        return section

    def _add_property(self, section: Section, line: PropertyLine) -> None:
        existing = section.properties.get(line.key)
        if existing is not None:
            # The corpus has such files (ResNet-18-BN.ini sets Solvers.MaxIterations
            # twice in [bn_def]); like most INI readers, the last one wins.
            where = f"[{section.name}]" if section.name else "the global part of the file"
            self.doc.warnings.append((line.key_location,
                                      f"property {line.key} set again in {where} (first set "
                                      f"at {existing.key_location}); the last value wins"))
        start = line.value_start
        value = scan_value(line.value, lambda i: line.line.loc(start + i), self.limits,
                           quoted=line.quoted)
        section.properties[line.key] = Property(line.key, value, line.key_location)

    # -- base sections ----------------------------------------------------------

    def _finish(self, section: Section) -> None:
        if section.base is None:
            return
        base = self.doc.sections.get(section.base)
        if base is None or base in self._pending_bases:
            self._pending_bases.append(section)  # defined later: copy at the end
            return
        self._copy_base(section, base)

    def _copy_base(self, section: Section, base: Section) -> None:
        if base is section:
            raise ParseError(f"section [{section.name}] names itself as its base",
                             location=section.base_location)
        # Base properties first (in base order), the section's own ones override.
        merged = {k: Property(p.key, p.value, p.key_location, p.inherited_from or base.name)
                  for k, p in base.properties.items() if k not in section.properties}
        merged.update(section.properties)
        section.properties = merged

    def _resolve_pending_bases(self) -> None:
        done: set[str] = set()

        def resolve(section: Section, chain: list[str]) -> None:
            if section.name in done:
                return
            base = self.doc.sections.get(section.base or "")
            if base is None:
                raise InputError(f"base section [{section.base}] of [{section.name}] does "
                                 f"not exist", location=section.base_location)
            if base.name in chain:
                raise InputError("circular base sections: " + " -> ".join(chain + [base.name]),
                                 location=section.base_location)
            if base in self._pending_bases:
                resolve(base, chain + [base.name])
            self._copy_base(section, base)
            done.add(section.name)

        for section in self._pending_bases:
            resolve(section, [section.name])
        self._pending_bases.clear()

    # -- templates --------------------------------------------------------------

    def _expand_path(self, header: HeaderLine, section: Section) -> str:
        """``${VAR}`` in the template path, from INI variables or the environment."""
        start = header.template_start
        value = scan_value(header.template or "", lambda i: header.line.loc(start + i),
                           self.limits)
        if not all(isinstance(s, (Literal, VarRef)) for s in value.segments):
            raise ParseError("a template path may only use ${VARIABLES}",
                             location=header.template_location)
        return format_scalar(self.doc.evaluate_value(value, ""))

    def _instantiate(self, section: Section, header: HeaderLine, base_dir: Path,
                     depth: int) -> None:
        if depth + 1 > self.limits.max_depth:
            raise limit_error("max_depth", "template nesting depth", self.limits.max_depth,
                              header.location)
        raw = self._expand_path(header, section)
        path = resolve_confined(raw, base_dir, self.allow_dirs,
                                what=f"template file of [{section.name}]",
                                location=header.template_location)
        section.instantiates = path
        params = {"SECTION_NAME": section.name, "SECTION_FILE_NAME": str(path)}
        for key, prop in section.properties.items():
            params[key] = self._parameter(prop, section.name)
        nodes = self.templates.get(path)
        if nodes is None:
            text = read_source(path, self.limits, referrer=header.template_location)
            nodes = self.parser.parse(TemplateSource(path, str(path), text), depth + 1)
            self.templates[path] = nodes
        rendered = render_template(nodes, params, self.limits, section.name)
        self._load_text(rendered, path.parent, depth + 1, (section.name, path))

    def _parameter(self, prop: Property, section: str) -> str:
        """Template parameters are evaluated when possible (as N2D2 does); a value
        that needs something unknown yet (a derived value, a later section) is
        passed as written, so it is evaluated lazily where the template puts it."""
        if prop.value.is_literal:
            return prop.value.text
        try:
            result = Evaluation(self.doc, self.doc.env, None).value(prop.value, section)
        except N2D2CError:
            return prop.value.text
        return format_scalar(result)

    def _load_include(self, name: str, location: SourceLocation,
                      src: TemplateSource) -> tuple[Path, str, str]:
        value = scan_value(name, lambda i: location, self.limits)
        raw = format_scalar(self.doc.evaluate_value(value, ""))
        path = resolve_confined(raw, src.path.parent, self.allow_dirs,
                                what=f"file included by {src.display}", location=location)
        return path, str(path), read_source(path, self.limits, referrer=location)
