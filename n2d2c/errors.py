"""The error contract: every user-facing failure is an N2D2CError.

Each category has its own exit code so that build systems can tell a bad model
from a bad command line from a bug in n2d2c.  The CLI prints ``str(err)`` (one
paragraph, no traceback) and exits with ``err.exit_code``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """A position in a text input (INI file, textual IR). Lines/cols are 1-based."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class N2D2CError(Exception):
    """Base of all errors reported to the user."""

    exit_code = 1
    category = "error"

    def __init__(self, message: str, *, location: SourceLocation | str | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.category}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(N2D2CError):
    """The command line or an API call was malformed (bad option, bad pipeline)."""

    exit_code = 2
    category = "usage error"


class InputError(N2D2CError):
    """A model, INI, IR or data file is missing, unreadable or malformed."""

    exit_code = 3
    category = "input error"


class ParseError(InputError):
    """Syntax error in a text input; ``location`` is file:line:col."""

    category = "syntax error"


class ShapeError(InputError):
    """Shapes or types do not agree (in a model or in a user-given input)."""

    category = "shape error"


class VerificationError(InputError):
    """An IR graph broke an invariant; the message names the offending op."""

    category = "verification error"


class UnsupportedError(N2D2CError):
    """The input is valid but uses something n2d2c does not implement."""

    exit_code = 4
    category = "unsupported"


class ResourceLimitError(N2D2CError):
    """A declared size or depth exceeds a configured limit (see --max-* flags)."""

    exit_code = 5
    category = "resource limit"


class ToolError(N2D2CError):
    """An external tool (compiler, simulator) failed on generated code."""

    exit_code = 6
    category = "tool error"


class InternalError(N2D2CError):
    """A bug in n2d2c. The CLI asks the user to re-run with --debug."""

    exit_code = 70
    category = "internal error"
