"""Name → op class table shared by the parser, the verifier and the backends."""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Operation

OPS: dict[str, type[Operation]] = {}


def register_op(cls: type[Operation]) -> type[Operation]:
    if not cls.OP_NAME:
        raise TypeError(f"{cls.__name__} has no OP_NAME")
    if cls.OP_NAME in OPS:
        raise TypeError(f"op name {cls.OP_NAME!r} registered twice")
    OPS[cls.OP_NAME] = cls
    return cls


def op_family_member(base: type[Operation], class_name: str, op_name: str, doc: str,
                     module: str, **class_vars) -> type[Operation]:
    """A registered op class ``class_name`` deriving ``base`` that only sets its name,
    docstring and class variables: a family (unary math, reductions, comparisons)
    shares one shape rule in ``base``.  ``module`` is the defining module's
    ``__name__``, so the class pickles and prints as if written there."""
    cls = type(class_name, (base,), {"OP_NAME": op_name, "__doc__": doc, "__module__": module,
                                     "__qualname__": class_name, **class_vars})
    return register_op(dataclass(eq=False, kw_only=True)(cls))
