"""Every node the import refuses, gathered over the whole model into one error.

A user with an exported model wants the complete list of what stands in the way,
not one node per attempt.  Op types n2d2c does not know are found before the
import (``describe_unsupported``); the rest shows only while converting: an op
that n2d2c folds on compile-time constants but meets run-time data, or a node
whose attributes a converter does not handle.  A refused node's results are
unknown, so the nodes that read them are skipped, not reported: their problems
(if any) are consequences.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from ...errors import UnsupportedError
from .errors import supported_ops_hint, unsupported_ops_message


class Refusals:
    def __init__(self, unknown_ops: Sequence[tuple[str, str]], where: str,
                 supported: Iterable[str], constant_only: Iterable[str]):
        self.unknown_ops = list(unknown_ops)  # (op type, node name), in graph order
        self.where = where
        self._hint = supported_ops_hint(supported, constant_only)
        self._unknown_nodes = {name for _, name in self.unknown_ops}
        self.node_errors: list[UnsupportedError] = []
        self._unknown_values: set[str] = set()
        self._raised: UnsupportedError | None = None

    def skips(self, node, name: str) -> bool:
        """True (and its results marked unknown) for a node that cannot be converted:
        its op type is unknown, or it reads the result of a refused node."""
        if name in self._unknown_nodes or any(i in self._unknown_values for i in node.input if i):
            self._unknown_values.update(o for o in node.output if o)
            return True
        return False

    def refuse(self, node, error: UnsupportedError) -> None:
        self.node_errors.append(error)
        self._unknown_values.update(o for o in node.output if o)

    def merged(self, error: UnsupportedError) -> UnsupportedError:
        """``error`` (raised outside the node loop: a graph input's type, the opset)
        together with everything refused so far."""
        if error is self._raised or not (self.unknown_ops or self.node_errors):
            return error
        self.node_errors.append(error)
        return self.error()

    def error(self) -> UnsupportedError | None:
        """The one error to raise (None when nothing was refused)."""
        if not self.unknown_ops and len(self.node_errors) <= 1:
            self._raised = self.node_errors[0] if self.node_errors else None
            return self._raised  # as it was raised: its own message and hint
        nodes = "; ".join(e.message.removeprefix("node ") for e in self.node_errors)
        count = len(self.node_errors)
        if not self.unknown_ops:
            message = f"{self.where} has {count} nodes n2d2c cannot import: {nodes}"
        else:
            message = unsupported_ops_message(self.unknown_ops, self.where)
            if count:
                message += f"; also {count} node{'s' if count > 1 else ''} refused: {nodes}"
        self._raised = UnsupportedError(message, hint=self._hint)
        return self._raised
