"""Loss specifications as users type them: ``name`` or ``name{key=value,...}``, e.g.
``focal{gamma=2,alpha=0.25}``, ``cross-entropy{weight=[1,2,1],label-smoothing=0.1}``,
``duo{first="focal{gamma=2}",second=boundary}``.

The syntax is the pass pipelines' option syntax (numbers, true/false, bare words,
"quoted strings", [lists]); a tiny recursive-descent parser because the pipeline parser
belongs to a higher layer.
"""

from __future__ import annotations

import json
import re

from ...errors import UsageError

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:\\.|[^"\\])*")|(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)'
                    r'(?:[eE][+-]?\d+)?(?![A-Za-z_]))|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*)|'
                    r'(?P<punct>[{}\[\],=]))')
HINT = "a loss is 'name' or 'name{option=value,...}', e.g. 'focal{gamma=2}'"


class _Tokens:
    def __init__(self, text: str):
        self.text = text
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise self.error(pos, f"unexpected character {text[pos:].lstrip()[0]!r}")
            kind = match.lastgroup
            self.items.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.index = 0

    def error(self, pos: int, what: str) -> UsageError:
        return UsageError(f"syntax error in loss '{self.text}' at column {pos + 1}: {what}",
                          hint=HINT)

    def peek(self):
        if self.index < len(self.items):
            return self.items[self.index]
        return ("end", "", len(self.text))

    def separator(self, closing: str) -> None:
        """A ',' between items, unless ``closing`` ends the list."""
        kind, text, pos = self.peek()
        if text == closing:
            return
        if text != ",":
            shown = "end of text" if kind == "end" else repr(text)
            raise self.error(pos, f"expected ',' or '{closing}', found {shown}")
        self.index += 1

    def take(self, kind: str, value: str | None = None):
        token = self.peek()
        if token[0] != kind or (value is not None and token[1] != value):
            shown = "end of text" if token[0] == "end" else repr(token[1])
            raise self.error(token[2], f"expected {value or kind}, found {shown}")
        self.index += 1
        return token


def _value(tokens: _Tokens):
    kind, text, pos = tokens.peek()
    if kind == "punct" and text == "[":
        tokens.take("punct", "[")
        items = []
        while tokens.peek()[1] != "]":
            items.append(_value(tokens))
            tokens.separator("]")
        tokens.take("punct", "]")
        return items
    tokens.index += 1
    if kind == "number":
        return float(text) if any(c in text for c in ".eE") else int(text)
    if kind == "string":
        return json.loads(text)
    if kind == "word":
        return {"true": True, "false": False, "none": None}.get(text, text)
    raise tokens.error(pos, f"expected a value, found {text or 'end of text'!r}")


def parse_loss_spec(text: str) -> tuple[str, dict]:
    """(name, {option: value}) of a loss specification; option names with dashes become
    Python names (``label-smoothing`` -> ``label_smoothing``)."""
    tokens = _Tokens(text)
    name = tokens.take("word")[1]
    options: dict = {}
    if tokens.peek()[1] == "{":
        tokens.take("punct", "{")
        while tokens.peek()[1] != "}":
            _, key, pos = tokens.take("word")
            tokens.take("punct", "=")
            key = key.replace("-", "_")
            if key in options:
                raise tokens.error(pos, f"option '{key}' is given twice")
            options[key] = _value(tokens)
            tokens.separator("}")
        tokens.take("punct", "}")
    kind, rest, pos = tokens.peek()
    if kind != "end":
        raise tokens.error(pos, f"unexpected {rest!r} after the loss")
    return name, options
