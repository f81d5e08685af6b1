"""How the ONNX frontend words its errors (classes come from n2d2c.errors only)."""

from __future__ import annotations

from typing import Iterable, Sequence


def node_label(name: str, op_type: str) -> str:
    """`'conv1' (Conv)`: how every message names an ONNX node."""
    return f"'{name}' ({op_type})"


def unsupported_ops_message(found: Sequence[tuple[str, str]], where: str) -> str:
    """``where`` uses N unsupported ONNX ops: each op type with its node names."""
    by_type: dict[str, list[str]] = {}
    for op_type, node in found:
        by_type.setdefault(op_type, []).append(node)
    parts = []
    for op_type in sorted(by_type):
        nodes = by_type[op_type]
        shown = ", ".join(f"'{n}'" for n in nodes[:8])
        if len(nodes) > 8:
            shown += f" and {len(nodes) - 8} more"
        parts.append(f"{op_type} (node{'s' if len(nodes) > 1 else ''} {shown})")
    count = len(by_type)
    return (f"{where} uses {count} unsupported ONNX op{'s' if count > 1 else ''}: "
            + "; ".join(parts))


def supported_ops_hint(supported: Iterable[str], constant_only: Iterable[str]) -> str:
    return (f"supported ops: {', '.join(sorted(supported))}; "
            f"only on compile-time constants (shape computations): "
            f"{', '.join(sorted(constant_only))}")
