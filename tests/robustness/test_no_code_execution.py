"""No input path may execute code: no eval/exec/compile of strings, no pickle,
every numpy load refuses pickles.  Checked on the source, so a future change
that adds one fails here rather than in a security report."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "n2d2c"
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve"}
# The user's own --load-pass module is code the user asked to run (documented).
ALLOWED = {("passes/registry.py", "exec_module")}


def python_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def violations(path: Path) -> list[str]:
    rel = str(path.relative_to(PACKAGE))
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=rel)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else None)
            if isinstance(func, ast.Name) and name in FORBIDDEN_CALLS:
                found.append(f"{rel}:{node.lineno}: call to {name}()")
            if name == "load" and isinstance(func, ast.Attribute) and isinstance(
                    func.value, ast.Name) and func.value.id in ("np", "numpy"):
                kw = {k.arg: k.value for k in node.keywords}
                if not (isinstance(kw.get("allow_pickle"), ast.Constant)
                        and kw["allow_pickle"].value is False):
                    found.append(f"{rel}:{node.lineno}: np.load without allow_pickle=False")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                if name and name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{rel}:{node.lineno}: imports {name}")
    return [v for v in found if not any(v.startswith(a) and b in v for a, b in ALLOWED)]


def test_no_code_execution_on_input_paths():
    files = python_files()
    assert len(files) > 50
    problems = [v for path in files for v in violations(path)]
    assert problems == []


def test_the_checker_catches_what_it_looks_for(tmp_path, monkeypatch):
    bad = PACKAGE / "frontend" / "__init__.py"
    sample = tmp_path / "n2d2c" / "frontend" / "bad.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("import pickle\nimport numpy as np\nx = eval('1')\ny = np.load('f')\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "n2d2c")
    assert bad.exists()
    assert len(violations(sample)) == 3
