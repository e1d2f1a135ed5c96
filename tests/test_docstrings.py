"""Every public class and function of ``inference/`` says what it does (issue 22: the repository
stands alone).

Public means: a module-level function or class whose name has no leading underscore, in a module
whose name has none either (``__init__`` counts as public), and every method of such a class whose
name has no leading underscore (properties included). Read with ``ast``: nothing is imported.
"""
from __future__ import annotations

import ast
from pathlib import Path

INFERENCE = Path(__file__).resolve().parents[1] / "inference"
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _public_module(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).with_suffix("").parts
    return all(not p.startswith("_") or p == "__init__" for p in parts)


def undocumented(root: Path = INFERENCE) -> list[str]:
    """``path:line name`` of every public class, function or method without a docstring."""
    missing = []
    for path in sorted(root.rglob("*.py")):
        if not _public_module(path, root):
            continue
        rel = path.relative_to(root.parent).as_posix()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, (*FUNCS, ast.ClassDef)) or node.name.startswith("_"):
                continue
            if ast.get_docstring(node) is None:
                missing.append(f"{rel}:{node.lineno} {node.name}")
            if isinstance(node, ast.ClassDef):
                missing += [f"{rel}:{sub.lineno} {node.name}.{sub.name}" for sub in node.body
                            if isinstance(sub, FUNCS) and not sub.name.startswith("_")
                            and ast.get_docstring(sub) is None]
    return missing


def test_every_public_name_in_inference_has_a_docstring():
    missing = undocumented()
    assert not missing, f"{len(missing)} public names in inference/ lack a docstring:\n" + "\n".join(missing)


def test_the_check_sees_what_it_should(tmp_path):
    pkg = tmp_path / "inference"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "sub" / "mod.py").write_text(
        'def f():\n    pass\n\n\ndef _g():\n    pass\n\n\nclass C:\n    """Doc."""\n\n'
        '    def m(self):\n        pass\n\n    def _p(self):\n        pass\n\n'
        '    @property\n    def size(self):\n        return 1\n', encoding="utf-8")
    (pkg / "_private.py").write_text("def h():\n    pass\n", encoding="utf-8")
    assert undocumented(pkg) == ["inference/sub/mod.py:1 f", "inference/sub/mod.py:12 C.m",
                                 "inference/sub/mod.py:19 C.size"]
