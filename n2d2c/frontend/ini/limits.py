"""Resource limits for loading an N2D2 INI file.

INI files may come from untrusted sources (downloaded model zoos), so every
construct that can make loading slow or huge has a bound.  Each field names the
command-line flag that raises it, so error messages can tell the user exactly
what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ResourceLimitError, SourceLocation

# Field name -> command-line flag that sets it (the CLI maps these one to one).
LIMIT_FLAGS = {
    "max_depth": "--max-ini-depth",
    "max_expression_length": "--max-expression-length",
    "max_file_size": "--max-ini-file-size",
    "max_sections": "--max-ini-sections",
    "max_loop_iterations": "--max-template-iterations",
    "max_reference_depth": "--max-reference-depth",
}


@dataclass(frozen=True)
class IniLimits:
    """Bounds applied while loading and evaluating an INI document."""

    #: nesting of template instantiations, ``{% include %}`` and template
    #: control blocks (``if``/``for``/``block``/``set``).
    max_depth: int = 32
    #: characters inside one ``$(...)`` expression.
    max_expression_length: int = 4096
    #: bytes of one INI/template file, and of one rendered template.
    max_file_size: int = 16 * 1024 * 1024
    #: sections in the whole document, template-generated ones included.
    max_sections: int = 100_000
    #: total ``{% for %}``/``{% block %}`` iterations of one template render.
    max_loop_iterations: int = 100_000
    #: chained ``[section]Property`` / ``${VAR}`` lookups during evaluation.
    max_reference_depth: int = 64


def limit_error(field: str, what: str, value: int,
                location: SourceLocation | str | None = None) -> ResourceLimitError:
    """Build the error for exceeding ``IniLimits.<field>``, naming its flag."""
    flag = LIMIT_FLAGS[field]
    return ResourceLimitError(
        f"{what} exceeds the limit of {value} (IniLimits.{field})",
        location=location,
        hint=f"raise it with {flag}=N if the input is trusted",
    )
