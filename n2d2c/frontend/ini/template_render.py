"""Rendering parsed N2D2 templates (see ``templates.py`` for the language).

The output is a ``LocatedText``: template text keeps its own file:line:col,
and a substituted ``{{VAR}}`` maps to the place of the ``{{``, so errors found
when the result is parsed as INI point into the template.
"""

from __future__ import annotations

from ...errors import InputError, SourceLocation
from .limits import IniLimits, limit_error
from .source import LocatedText
from .templates import Node, TemplateSource


class _Renderer:
    def __init__(self, limits: IniLimits, instance: str) -> None:
        self.limits = limits
        self.instance = instance
        self.iterations = 0

    def render(self, nodes: list[Node], params: dict[str, str], out: LocatedText) -> None:
        for node in nodes:
            kind, src, offset = node[0], node[1], node[2]
            if kind == "lit":
                start, end = node[2], node[3]
                loc = src.loc(start)
                out.append(src.text[start:end], loc.file, loc.line, loc.col)
            elif kind == "sub":
                name = node[3]
                if name not in params:
                    raise InputError(
                        f"undefined template variable {{{{{name}}}}}: the instance "
                        f"[{self.instance}@...] does not set {name}", location=src.loc(offset))
                loc = src.loc(offset)
                out.append(params[name], loc.file, loc.line, loc.col, literal=False)
            elif kind == "if":
                branch = node[6] if self._condition(node, params) else node[7]
                self.render(branch, params, out)
            elif kind == "for":
                self._for(node, params, out)
            elif kind == "block":
                self._block(node, params, out)
            elif kind == "set":
                body = node[4] if node[4] is not None else node[5]
                tmp = LocatedText()
                self.render(body, params, tmp)
                params[node[3]] = tmp.text().strip()
            if len(out) > self.limits.max_file_size:
                raise limit_error("max_file_size", "rendered template size",
                                  self.limits.max_file_size, src.loc(offset))

    def _condition(self, node: Node, params: dict[str, str]) -> bool:
        src, offset, var, op, value = node[1], node[2], node[3], node[4], node[5]
        if op == "exists":
            return var in params
        if op == "not_exists":
            return var not in params
        if op == "truthy":
            return params.get(var, "").strip().lower() not in ("", "0", "false", "no")
        if var not in params:
            raise InputError(f"undefined template variable {var} in '{{% if %}}'",
                             location=src.loc(offset))
        actual = params[var]
        if op == "==":
            return actual == value
        if op == "!=":
            return actual != value
        left = _as_float(actual, var, src.loc(offset))
        right = _as_float(value, value, src.loc(offset))
        return {"<": left < right, "<=": left <= right, ">": left > right,
                ">=": left >= right}[op]

    def _count(self, count: int, src: TemplateSource, offset: int) -> None:
        self.iterations += max(count, 0)
        if self.iterations > self.limits.max_loop_iterations:
            raise limit_error("max_loop_iterations", "number of template loop iterations",
                              self.limits.max_loop_iterations, src.loc(offset))

    def _for(self, node: Node, params: dict[str, str], out: LocatedText) -> None:
        src, offset, var, start, stop, body = node[1:7]
        loc = src.loc(offset)
        if var in params:
            raise InputError(f"loop variable {var} already exists in this template",
                             location=loc)
        first = _as_int(params.get(start, start), start, loc)
        last = _as_int(params.get(stop, stop), stop, loc) if stop else None
        if last is None:
            first, last = 0, first
        self._count(last - first, src, offset)
        for index in range(first, last):
            params[var] = str(index)
            self.render(body, params, out)
        params.pop(var, None)

    def _block(self, node: Node, params: dict[str, str], out: LocatedText) -> None:
        src, offset, var, body = node[1:5]
        loc = src.loc(offset)
        if var not in params:
            raise InputError(f"undefined template variable {var} in '{{% block %}}'",
                             location=loc)
        count = _as_int(params[var], var, loc)
        self._count(count, src, offset)
        for index in range(count):
            prefix = f"{var}[{index}]"
            scope = dict(params)
            scope["#"] = str(index)
            for key, value in params.items():
                if key.startswith(prefix):
                    scope[key[len(prefix):]] = value
            self.render(body, scope, out)


def _as_float(text: str, what: str, loc: SourceLocation) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"template value {what}={text!r} is not a number",
                         location=loc) from None


def _as_int(text: str, what: str, loc: SourceLocation) -> int:
    value = _as_float(text, what, loc)
    if not value.is_integer():
        raise InputError(f"template value {what}={text!r} is not an integer", location=loc)
    return int(value)


def render_template(nodes: list[Node], params: dict[str, str], limits: IniLimits,
                    instance: str) -> LocatedText:
    """Render parsed template ``nodes``; the result maps back to template lines."""
    out = LocatedText()
    _Renderer(limits, instance).render(nodes, dict(params), out)
    return out
