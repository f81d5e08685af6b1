"""What a pass is: a frozen dataclass with a name, typed options and ``apply``.

    @register_pass
    @dataclass(frozen=True)
    class EqualizeWeights(Pass):
        \"\"\"Cross-layer equalisation of consecutive conv/gemm weights.\"\"\"

        name = "equalize-weights"
        max_iter: int = option(20, "sweeps over all layer pairs at most")

        def apply(self, graph): ...

Options are the dataclass fields; a field ``max_iter`` is spelled ``max-iter``
in pipeline strings.  Field values are checked against their annotations when
a pass is built, from Python or from a pipeline string alike.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..errors import UsageError
from ..ir import Graph


@dataclass
class PassResult:
    """What a pass reports besides rewriting the graph.

    ``statistics`` counts what happened (``{"fused": 3}``); ``report`` is a
    human-readable summary the pipeline may print.
    """

    statistics: dict[str, int] = field(default_factory=dict)
    report: str = ""

    @property
    def changed(self) -> bool:
        return any(self.statistics.values())


def option(default: Any, help: str = "") -> Any:
    """A pass option with a default and a one-line help shown by `n2d2c passes`."""
    if isinstance(default, list):
        default = tuple(default)
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class PassOption:
    """One option as users see it (`n2d2c passes`, error messages)."""

    name: str
    type: str
    default: Any
    help: str = ""


@dataclass(frozen=True)
class Pass:
    """Base of every pass. Subclasses set ``name`` and implement ``apply``."""

    name: ClassVar[str] = ""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = coerce_option(self.name, option_name(f.name), getattr(self, f.name),
                                  hints[f.name])
            object.__setattr__(self, f.name, value)

    def apply(self, graph: Graph) -> PassResult | None:
        raise NotImplementedError(f"pass '{self.name}' has no apply()")

    @classmethod
    def description(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def options(cls) -> list[PassOption]:
        hints = typing.get_type_hints(cls)
        return [PassOption(option_name(f.name), type_name(hints[f.name]), f.default,
                           f.metadata.get("help", ""))
                for f in dataclasses.fields(cls)]

    def non_default_options(self) -> dict[str, Any]:
        """Options whose value differs from the default, keyed by pipeline spelling."""
        return {option_name(f.name): getattr(self, f.name) for f in dataclasses.fields(self)
                if not _same(getattr(self, f.name), f.default)}

    def __str__(self) -> str:
        from .pipeline import format_pass
        return format_pass(self)


def option_name(field_name: str) -> str:
    return field_name.replace("_", "-")


def field_name(option: str) -> str:
    return option.replace("-", "_")


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def type_name(hint) -> str:
    """How an option type is spelled in help and error messages."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return " | ".join(str(a) for a in typing.get_args(hint))
    if origin in (tuple, list):
        args = typing.get_args(hint)
        if not args:
            return "list"
        item = type_name(args[0])
        return f"list of ({item})" if " | " in item else f"list of {item}s"
    return {int: "integer", float: "number", bool: "boolean", str: "string"}.get(hint, str(hint))


def coerce_option(pass_name: str, option: str, value: Any, hint) -> Any:
    """Check ``value`` against the option's annotation; convert int→float, list→tuple."""
    try:
        return _coerce(value, hint)
    except (TypeError, ValueError):
        shown = _show(value)
        raise UsageError(f"option '{option}' of pass '{pass_name}' expects "
                         f"{_article(type_name(hint))}, got {shown}") from None


def _coerce(value, hint):
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint) or isinstance(value, bool):
            raise ValueError
        return value
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            raise TypeError
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(value if item is Any else _coerce(v, item) for v in value)
    if hint is bool:
        if not isinstance(value, bool):
            raise TypeError
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TypeError
        return value
    raise TypeError(f"unsupported option type {hint}")


def supported_option_type(hint) -> bool:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return all(isinstance(a, (str, int, float)) for a in typing.get_args(hint))
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return len(args) == 1 and supported_option_type(args[0])
    return hint in (bool, int, float, str)


def _article(text: str) -> str:
    if " | " in text:
        return f"one of {text}"
    if text.startswith("list"):
        return f"a {text}"
    return ("an " if text[0] in "aeiou" else "a ") + text


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
