"""Labels to targets: N2D2's label mapping.

Without a mapping file every data-set label, in its order of appearance (label ID), goes to
the next output; a label beyond the output count is an error.  A ``LabelsMapping`` file is a
two-column table ``<label name> <output index>`` (``#`` starts a comment) where

* ``*`` is the "ignore" label (annotations without a valid label, label ID -1);
* ``default`` is every valid label the file does not list;
* in other names ``*`` is one or more characters (non-greedy) and ``+`` exactly one;
* output -1 ignores the label.

A label matched by two lines is an error (as in N2D2); an unmatched one takes ``default``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import InputError, ShapeError

IGNORE_NAME = "*"
DEFAULT_NAME = "default"
#: The label ID of annotations without a valid label, and the target that ignores them.
IGNORE = -1


def wildcard_regex(name: str) -> re.Pattern:
    """The regular expression of a label pattern: ``*`` one or more characters
    (non-greedy), ``+`` exactly one, every other character itself."""
    parts = [".+?" if c == "*" else "." if c == "+" else re.escape(c) for c in name]
    return re.compile("".join(parts), re.DOTALL)


def has_wildcard(name: str) -> bool:
    return name != IGNORE_NAME and ("*" in name or "+" in name)


def _split_line(line: str) -> tuple[str, str] | None:
    """(label name, output) of a mapping line: the last word is the output, the words
    before it the name (which may contain spaces, or be "quoted")."""
    parts = line.rsplit(None, 1)
    if len(parts) != 2:
        return None
    name = parts[0].strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    return name, parts[1]


@dataclass
class LabelsMapping:
    """The rules of a labels mapping file.  As in N2D2, a label that two lines map (an exact
    name and a pattern, or two patterns) is an error, not a precedence."""
    exact: dict[str, int] = field(default_factory=dict)
    patterns: list[tuple[str, re.Pattern, int]] = field(default_factory=list)
    default: int | None = None
    ignore: int = IGNORE
    source: str = "<labels mapping>"
    lines: dict[str, int] = field(default_factory=dict)    # entry name -> line number

    @classmethod
    def parse(cls, text: str, source: str = "<labels mapping>") -> "LabelsMapping":
        mapping = cls(source=source)
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{source}:{number}"
            split = _split_line(line)
            if split is None:
                raise InputError(f"labels mapping line '{raw.strip()}' must be "
                                 f"'<label name> <output index>'", location=where)
            name, index_text = split
            try:
                index = int(index_text)
            except ValueError:
                raise InputError(f"labels mapping: output index '{index_text}' of label "
                                 f"'{name}' is not an integer", location=where) from None
            if index < IGNORE:
                raise InputError(f"labels mapping: output index {index} of label '{name}' "
                                 f"(use -1 to ignore a label)", location=where)
            if name in mapping.lines:
                raise InputError(f"labels mapping: '{name}' is mapped twice (line "
                                 f"{mapping.lines[name]} and line {number})", location=where)
            mapping.lines[name] = number
            if name == IGNORE_NAME:
                mapping.ignore = index
            elif name == DEFAULT_NAME:
                mapping.default = index
            elif has_wildcard(name):
                mapping.patterns.append((name, wildcard_regex(name), index))
            else:
                mapping.exact[name] = index
        return mapping

    @classmethod
    def read(cls, path) -> "LabelsMapping":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read labels mapping file '{path}': {exc.strerror}") \
                from None
        return cls.parse(text, str(path))

    def target_of(self, name: str) -> tuple[int, str]:
        """(output index, the line that gave it) of a valid label name."""
        matches = ([(name, self.exact[name])] if name in self.exact else []) + \
            [(pattern, index) for pattern, regex, index in self.patterns
             if regex.fullmatch(name)]
        if any(pattern == name for pattern, _, _ in self.patterns):
            raise InputError(f"labels mapping: ambiguous wildcard line '{name}': the data set "
                             f"has a label of that very name", location=self.source)
        if len(matches) > 1:
            lines = " and ".join(f"'{rule}' (line {self.lines[rule]})" for rule, _ in matches)
            raise InputError(f"labels mapping: label '{name}' is mapped by {lines}",
                             location=self.source)
        if matches:
            rule, index = matches[0]
            return index, rule
        if self.default is not None:
            return self.default, DEFAULT_NAME
        raise InputError(f"label '{name}' is not in the labels mapping file and the file "
                         f"has no 'default' line", location=self.source)


@dataclass
class LabelTable:
    """The actual mapping of a data set's labels: label ID -> (name, output index)."""
    names: list[str]
    targets: list[int]
    rules: list[str]
    ignore_target: int = IGNORE
    outputs: int = 0

    def lookup(self, label_ids):
        """Output index (-1: ignored) of each label ID (-1: the ignore label) in an array."""
        import numpy as np
        ids = np.asarray(label_ids, dtype=np.int64)
        if ids.size and (ids.min() < IGNORE or ids.max() >= len(self.names)):
            bad = ids[(ids < IGNORE) | (ids >= len(self.names))][0]
            raise ShapeError(f"label ID {int(bad)} is not one of the data set's "
                             f"{len(self.names)} labels")
        table = np.array(self.targets + [self.ignore_target], dtype=np.int64)
        return table[ids]          # ID -1 reads the last entry: the ignore target

    def log(self) -> str:
        """The generated mapping file, in N2D2's ``labels_mapping.log.dat`` format: a
        ``label name output`` header, then every label of the data set as
        ``<label ID> <name> <output>`` (output -1: ignored)."""
        lines = ["label name output"]
        lines += [f"{label_id} {_quoted(name)} {target}"
                  for label_id, (name, target) in enumerate(zip(self.names, self.targets))]
        return "\n".join(lines) + "\n"

    def rules_log(self) -> str:
        """Which line of the mapping file chose each label's output (to check wildcards)."""
        lines = ["label name rule"]
        lines += [f"{label_id} {name} {rule}"
                  for label_id, (name, rule) in enumerate(zip(self.names, self.rules))]
        lines.append(f"{IGNORE} {IGNORE_NAME} -> {self.ignore_target}")
        return "\n".join(lines) + "\n"


def _quoted(name: str) -> str:
    return f'"{name}"' if any(c.isspace() for c in name) else name


def build_label_table(names, outputs: int, mapping: LabelsMapping | None = None) -> LabelTable:
    """The label table of data-set labels ``names`` (index = label ID) for a target with
    ``outputs`` outputs (1: a logistic output, which takes two labels, 0 and 1)."""
    capacity = max(outputs, 2) if outputs == 1 else outputs
    if mapping is None:
        targets = list(range(len(names)))
        rules = ["order of appearance"] * len(names)
        if len(names) > capacity:
            raise ShapeError(f"label '{names[capacity]}' (label ID {capacity}) exceeds the "
                             f"{outputs} output(s) of the target: without a labels mapping "
                             f"every label needs its own output",
                             hint="map several labels to one output with --labels-mapping")
        return LabelTable(list(names), targets, rules, IGNORE, outputs)
    targets, rules = [], []
    for name in names:
        target, rule = mapping.target_of(str(name))
        targets.append(target)
        rules.append(rule)
    table = LabelTable([str(n) for n in names], targets, rules, mapping.ignore, outputs)
    for name, target in list(zip(table.names, targets)) + [(IGNORE_NAME, mapping.ignore)]:
        if target >= capacity:
            raise ShapeError(f"label '{name}' is mapped to output {target}, but the target "
                             f"has {outputs} output(s)", location=mapping.source)
    return table


def read_label_names(path) -> list[str]:
    """A labels file: one name per line, the line number (from 0) is the label ID."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read labels file '{path}': {exc.strerror}") from None
    names = [line.strip() for line in lines if line.strip()]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"labels file '{path}' lists label '{dup}' twice")
    return names
