"""Layers import only downward: every import in n2d2c/, including those inside functions.

    ir < frontend, runtime < passes < quantization < backends < api, cli, distributed

Packages of one level never import each other (frontend and runtime; api and cli
may use each other's public functions: cli is the api's command line; both drive
distributed, the Dask scale-out).  Inside
``backends``, the generic C layer (``backends/c``) never imports a concrete
target, and targets never import each other.  ``errors``, ``util`` and
``version`` are below everything; the top-level package ``n2d2c/__init__.py``
is the facade above everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import n2d2c

PACKAGE = Path(n2d2c.__file__).parent

LEVELS = {
    "errors": 0, "util": 0, "version": 0,
    "ir": 1,
    "frontend": 2, "runtime": 2,
    "passes": 3,
    "quantization": 4,
    "backends": 5, "examples": 5,
    "api": 6, "cli": 6, "info": 6, "distributed": 6,
    "__init__": 7,
}
# Same-level packages that may import each other.
PEERS = {frozenset({"api", "cli"}), frozenset({"cli", "info"}), frozenset({"api", "info"}),
         frozenset({"cli", "distributed"}), frozenset({"api", "distributed"})}
# Modules of backends/ that every target may use (the registry is not a target).
BACKEND_SHARED = {"registry", "__init__", "c"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported module, line) of every import statement in the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" for a in node.names]
            else:
                target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
            # `from . import lowering` imports a submodule: judge each imported name.
            for name in names if not node.module else [target]:
                yield name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _backend_part(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "backends" else None


def layering_violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _module_name(path)
        src_top = _top(source)
        for target, line in _imports(path):
            if target != "n2d2c" and not target.startswith("n2d2c."):
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line}: {source} imports {target}"
            dst_top = _top(target)
            if src_top not in LEVELS or dst_top not in LEVELS:
                problems.append(f"{where} (package not in the layer table)")
                continue
            if src_top == dst_top:
                if src_top == "backends":
                    a, b = _backend_part(source), _backend_part(target)
                    if a != b and b not in BACKEND_SHARED:
                        problems.append(f"{where} (a backend imports another target)")
                continue
            if LEVELS[dst_top] > LEVELS[src_top]:
                problems.append(f"{where} (upward: {src_top} is below {dst_top})")
            elif (LEVELS[dst_top] == LEVELS[src_top]
                  and frozenset({src_top, dst_top}) not in PEERS):
                problems.append(f"{where} (peers {src_top} and {dst_top} must not import "
                                "each other)")
    return problems


def test_layers_import_only_downward():
    problems = layering_violations()
    assert not problems, "layering violations:\n" + "\n".join(problems)


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    """A function-level upward import in a fake ir module is reported."""
    fake = tmp_path / "n2d2c"
    (fake / "ir").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "ir" / "__init__.py").write_text("")
    (fake / "ir" / "bad.py").write_text("def f():\n    from ..backends.c import emitter\n")
    (fake / "backends" / "c").mkdir(parents=True)
    (fake / "backends" / "__init__.py").write_text("")
    (fake / "backends" / "c" / "__init__.py").write_text("from ..cpp import emitter\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    problems = layering_violations()
    assert any("n2d2c/ir/bad.py:2" in p and "upward" in p for p in problems), problems
    assert any("another target" in p for p in problems), problems
