"""Name → op class table shared by the parser, the verifier and the backends."""

from __future__ import annotations

from ..graph import Operation

OPS: dict[str, type[Operation]] = {}


def register_op(cls: type[Operation]) -> type[Operation]:
    if not cls.OP_NAME:
        raise TypeError(f"{cls.__name__} has no OP_NAME")
    if cls.OP_NAME in OPS:
        raise TypeError(f"op name {cls.OP_NAME!r} registered twice")
    OPS[cls.OP_NAME] = cls
    return cls
