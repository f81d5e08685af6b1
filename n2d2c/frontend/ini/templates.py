"""N2D2's INI template language (``[name@file.ini.tpl]`` instances).

N2D2 templates look like Jinja but are not Jinja: conditions read
``{% if RESIDUAL exists %}`` / ``{% if NO_RELU not_exists %}`` /
``{% if STRIDES == 2 %}`` (unquoted values), loops are
``{% for i in range(N) %}``, ``{% block LAYERS %}`` repeats its body
``LAYERS`` times exposing ``LAYERS[i]<suffix>`` parameters as ``<suffix>`` and
the index as ``{{#}}``, and ``{% set X %}...{% endset %}`` assigns a rendered
string.  Translating that to Jinja would be fragile and would lose the
file:line of errors, so this module implements the small language directly.
It can only substitute strings: there is no expression evaluation at all.

Parameters are a flat ``str -> str`` mapping shared by ``if`` and ``for``
bodies (so a ``set`` inside an ``if`` is visible after ``endif``, which the
ResNet templates rely on); a ``block`` iteration works on a copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ...errors import ParseError, SourceLocation
from .limits import IniLimits, limit_error
from .source import LocatedText


@dataclass
class TemplateSource:
    """One template file, its text and an offset -> location map."""

    path: Path
    display: str
    text: str
    located: LocatedText = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.located = LocatedText.from_file_text(self.text, self.display)

    def loc(self, offset: int) -> SourceLocation:
        return self.located.locate(offset)


# Nodes are tuples: (kind, source, offset, *payload).
#   ("lit", src, start, end)            verbatim text
#   ("sub", src, offset, name)          {{name}}
#   ("if", src, offset, var, op, value, then_nodes, else_nodes)
#   ("for", src, offset, var, start, stop, body)
#   ("block", src, offset, var, body)
#   ("set", src, offset, var, body_or_None, inline_nodes_or_None)
Node = tuple

# (included file text, location of the include) -> (path, display name, text)
IncludeLoader = Callable[[str, SourceLocation, TemplateSource], tuple[Path, str, str]]

_IF_EXISTS = re.compile(r"if\s+(\S+)\s+(exists|not_exists)")
_IF_COMPARE = re.compile(r"if\s+([^\s=!<>]+)\s*(==|!=|<=|>=|<|>)\s*(.*)")
_IF_TRUTHY = re.compile(r"if\s+(\S+)")
_FOR = re.compile(r"for\s+(\S+)\s+in\s+range\s*\(\s*([^,\s()]+)\s*(?:,\s*([^,\s()]+)\s*)?\)")
_BLOCK = re.compile(r"block\s+(\S+)")
_SET_BLOCK = re.compile(r"set\s+([^\s=]+)")
_SET_INLINE = re.compile(r"set\s+([^\s=]+)\s*(?:=\s*|\s)(.*)")
_INCLUDE = re.compile(r"include\s+(.+)")
_NAME = re.compile(r"[^\s{}%]+")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


@dataclass
class _Frame:
    kind: str           # "root", "if", "for", "block", "set"
    offset: int
    src: TemplateSource
    header: tuple = ()
    body: list = field(default_factory=list)
    other: list = field(default_factory=list)
    in_else: bool = False

    def target(self) -> list:
        return self.other if self.in_else else self.body


class TemplateParser:
    """Parses template files into node lists, inlining ``{% include %}``."""

    def __init__(self, limits: IniLimits, include_loader: IncludeLoader) -> None:
        self.limits = limits
        self.include_loader = include_loader

    def parse(self, src: TemplateSource, depth: int) -> list[Node]:
        text = src.text
        stack = [_Frame("root", 0, src)]
        pos = 0
        while True:
            start = text.find("{%", pos)
            self._text(src, pos, len(text) if start < 0 else start, stack[-1].target())
            if start < 0:
                break
            end = text.find("%}", start + 2)
            if end < 0:
                raise ParseError("unterminated template statement '{%': expected '%}'",
                                 location=src.loc(start))
            raw = text[start + 2:end]
            statement = raw.strip()
            statement_start = start + 2 + len(raw) - len(raw.lstrip())
            pos = end + 2
            self._statement(src, statement, start, statement_start, stack, depth)
        if len(stack) > 1:
            frame = stack[-1]
            raise ParseError(f"'{{% {frame.kind} %}}' is never closed: expected "
                             f"'{{% end{frame.kind} %}}' before the end of {src.display}",
                             location=src.loc(frame.offset))
        return stack[0].body

    # -- pieces ------------------------------------------------------------------

    def _text(self, src: TemplateSource, start: int, end: int, out: list) -> None:
        text = src.text
        pos = start
        while pos < end:
            open_ = text.find("{{", pos, end)
            if open_ < 0:
                out.append(("lit", src, pos, end))
                return
            if open_ > pos:
                out.append(("lit", src, pos, open_))
            close = text.find("}}", open_ + 2, end)
            if close < 0:
                raise ParseError("unterminated template substitution '{{': expected '}}'",
                                 location=src.loc(open_))
            name = text[open_ + 2:close].strip()
            if not _NAME.fullmatch(name):
                raise ParseError(f"bad template variable {{{{{name}}}}}: expected a name "
                                 f"such as {{{{INPUT}}}}", location=src.loc(open_))
            out.append(("sub", src, open_, name))
            pos = close + 2

    def _statement(self, src: TemplateSource, statement: str, offset: int,
                   statement_start: int, stack: list[_Frame], depth: int) -> None:
        loc = src.loc(offset)
        word = statement.split(None, 1)[0] if statement else ""
        frame = stack[-1]
        if word in ("if", "for", "block", "set"):
            inline = _SET_INLINE.fullmatch(statement) if word == "set" else None
            if inline and not _SET_BLOCK.fullmatch(statement):
                # ``{% set X = value %}``: the value may itself use {{...}}.
                nodes: list = []
                value_start = statement_start + inline.start(2)
                self._text(src, value_start, value_start + len(inline.group(2)), nodes)
                frame.target().append(("set", src, offset, inline.group(1), None, nodes))
                return
            if depth + len(stack) > self.limits.max_depth:
                raise limit_error("max_depth", "template nesting depth",
                                  self.limits.max_depth, loc)
            stack.append(_Frame(word, offset, src, self._header(word, statement, loc)))
            return
        if word in ("endif", "endfor", "endblock", "endset"):
            if statement != word:
                raise ParseError(f"unexpected text after '{word}' in '{{% {statement} %}}'",
                                 location=loc)
            if frame.kind != word[3:]:
                expected = f"'{{% end{frame.kind} %}}'" if frame.kind != "root" else \
                    "no closing statement here"
                raise ParseError(f"'{{% {word} %}}' does not match: expected {expected}",
                                 location=loc)
            stack.pop()
            stack[-1].target().append(self._close(frame))
            return
        if word == "else":
            if statement != "else" or frame.kind != "if" or frame.in_else:
                raise ParseError("'{% else %}' outside of an '{% if %}' block", location=loc)
            frame.in_else = True
            return
        if word == "include":
            match = _INCLUDE.fullmatch(statement)
            name = _unquote(match.group(1)) if match else ""
            if not name:
                raise ParseError("'{% include %}' needs a file name", location=loc)
            if depth + len(stack) > self.limits.max_depth:
                raise limit_error("max_depth", "template include depth",
                                  self.limits.max_depth, loc)
            path, display, text = self.include_loader(name, loc, src)
            included = TemplateSource(path, display, text)
            frame.target().extend(self.parse(included, depth + len(stack)))
            return
        raise ParseError(f"unknown template statement '{{% {statement} %}}': expected if, "
                         f"else, endif, for, endfor, block, endblock, set, endset or include",
                         location=loc)

    @staticmethod
    def _header(word: str, statement: str, loc: SourceLocation) -> tuple:
        if word == "if":
            match = _IF_EXISTS.fullmatch(statement)
            if match:
                return (match.group(1), match.group(2), "")
            match = _IF_COMPARE.fullmatch(statement)
            if match:
                return (match.group(1), match.group(2), _unquote(match.group(3)))
            match = _IF_TRUTHY.fullmatch(statement)
            if match:
                return (match.group(1), "truthy", "")
            raise ParseError(f"bad condition '{{% {statement} %}}': expected "
                             f"'if VAR exists', 'if VAR not_exists' or 'if VAR == value'",
                             location=loc)
        if word == "for":
            match = _FOR.fullmatch(statement)
            if not match:
                raise ParseError(f"bad loop '{{% {statement} %}}': expected "
                                 f"'for VAR in range(N)' or 'for VAR in range(A, B)'",
                                 location=loc)
            return match.groups()
        if word == "block":
            match = _BLOCK.fullmatch(statement)
            if not match:
                raise ParseError(f"bad block '{{% {statement} %}}': expected 'block VAR'",
                                 location=loc)
            return match.groups()
        match = _SET_BLOCK.fullmatch(statement)
        if not match:
            raise ParseError(f"bad set '{{% {statement} %}}': expected 'set VAR' ... "
                             f"'endset' or 'set VAR = value'", location=loc)
        return match.groups()

    @staticmethod
    def _close(frame: _Frame) -> Node:
        src, offset, header = frame.src, frame.offset, frame.header
        if frame.kind == "if":
            return ("if", src, offset, *header, frame.body, frame.other)
        if frame.kind == "for":
            return ("for", src, offset, *header, frame.body)
        if frame.kind == "block":
            return ("block", src, offset, header[0], frame.body)
        return ("set", src, offset, header[0], frame.body, None)
