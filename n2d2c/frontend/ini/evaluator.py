"""Lazy evaluation of property values.

A value is evaluated only when asked for.  ``${VAR}`` looks, in order, at the
built-ins ``SECTION_NAME``/``PREV_SECTION_NAME``, a ``$VAR=`` line of the
section being read, a ``$VAR=`` line of the global part of the file (before
the first section), and finally the environment.  An undefined variable is an
error only when a value that uses it is evaluated: the corpus has files with a
misspelled variable in properties that N2D2 never reads, and they must load.

``[section]Property`` is answered from the document when the section has that
property; otherwise the caller's ``resolver`` is asked (the network lowering
knows derived values such as ``[conv1]_OutputsWidth`` or ``[sp]_EpochSize``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Optional, Union

from ...errors import InputError, N2D2CError, SourceLocation
from .convert import format_scalar
from .arithmetic import evaluate_expression
from .expressions import Scalar
from .limits import limit_error
from .values import Expression, Literal, PropRef, Value, VarRef

if TYPE_CHECKING:
    from .document import IniDocument

Resolver = Callable[[str, str], Optional[Union[int, float, str]]]

BUILTIN_VARIABLES = ("SECTION_NAME", "PREV_SECTION_NAME")


class Evaluation:
    """One evaluation request (it tracks the reference chain for cycles)."""

    def __init__(self, doc: "IniDocument", env: Mapping[str, str],
                 resolver: Resolver | None) -> None:
        self.doc = doc
        self.env = env
        self.resolver = resolver
        self.resolver_calls = 0
        self._chain: list[tuple[str, str]] = []
        self._context: list[str] = []

    # -- entry points -----------------------------------------------------------

    def property(self, section: str, key: str, location: SourceLocation | None) -> Scalar:
        """Evaluate ``key`` of ``section`` (which must have it)."""
        cache = self.doc._cache
        slot = (section, key)
        if slot in cache:
            return cache[slot]
        if slot in self._chain:
            cycle = " -> ".join(f"[{s}]{k}" for s, k in self._chain[self._chain.index(slot):])
            raise InputError(f"circular reference: {cycle} -> [{section}]{key}",
                             location=location)
        limits = self.doc.limits
        if len(self._chain) >= limits.max_reference_depth:
            raise limit_error("max_reference_depth", "chain of references",
                              limits.max_reference_depth, location)
        value = self.doc._section_or_globals(section).properties[key].value
        calls = self.resolver_calls
        self._chain.append(slot)
        try:
            result = self.value(value, section)
        finally:
            self._chain.pop()
        if calls == self.resolver_calls and not self.doc._loading:
            cache[slot] = result  # only results that did not depend on the resolver
        return result

    def value(self, value: Value, section: str) -> Scalar:
        """Evaluate ``value`` as if read from ``section``."""
        self._context.append(section)
        try:
            segments = value.segments
            if len(segments) == 1 and not isinstance(segments[0], Literal):
                return self._segment(segments[0])
            return "".join(s.text if isinstance(s, Literal) else format_scalar(self._segment(s))
                           for s in segments)
        finally:
            self._context.pop()

    # -- pieces -----------------------------------------------------------------

    def _segment(self, segment) -> Scalar:
        if isinstance(segment, VarRef):
            return self.variable(segment.name, segment.location)
        if isinstance(segment, PropRef):
            return self.reference(segment.section, segment.prop, segment.location)
        if isinstance(segment, Expression):
            result = evaluate_expression(segment.tree, self, segment.locate)
            return int(result) if isinstance(result, bool) else result
        return segment.text  # pragma: no cover - literals are handled by the caller

    def variable(self, name: str, location: SourceLocation) -> Scalar:
        section = self._context[-1] if self._context else ""
        if name == "SECTION_NAME":
            return section
        if name == "PREV_SECTION_NAME":
            return self.doc._previous_section_name(section)
        key = "$" + name
        own = self.doc._section_or_globals(section)
        if key in own.properties:
            return self.property(section, key, location)
        if key in self.doc.globals.properties:
            return self.property("", key, location)
        if name in self.env:
            return self.env[name]
        raise InputError(
            f"undefined variable ${{{name}}}: no '${name}=' line in the INI file and no "
            f"environment variable {name}", location=location)

    def reference(self, section: str, prop: str, location: SourceLocation) -> Scalar:
        target = self.doc.sections.get(section)
        if target is not None and prop in target.properties:
            return self.property(section, prop, location)
        if self.resolver is not None:
            self.resolver_calls += 1
            try:
                answer = self.resolver(section, prop)
            except N2D2CError as err:  # the resolver cannot know where it was asked
                if err.location is None:
                    err.location = location
                raise
            if answer is not None:
                if not isinstance(answer, (int, float, str)):
                    raise TypeError(f"resolver returned {type(answer).__name__} for "
                                    f"[{section}]{prop}; expected a number or a string")
                return answer
        if target is None:
            why = f"there is no section [{section}]"
        else:
            why = f"section [{section}] has no property {prop}"
        derived = " (a derived value: it is computed by the network lowering)" \
            if prop.startswith("_") else ""
        raise InputError(f"cannot resolve [{section}]{prop}: {why}{derived}",
                         location=location)
