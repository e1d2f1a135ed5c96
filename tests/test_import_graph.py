"""inference/ and plugin/ have no import cycles and pass no ``_private`` name across a boundary.

The graph covers every module of both packages and their sub-packages, every relative import of
any level (module level and inside functions), absolute ``eolens.`` imports, and the runtime's
dynamic family loaders (registry.FAMILY_LOADERS). There is no allow-list. Only the body of an
``if __name__ == "__main__":`` block is left out: it runs as the module ``__main__`` (``python -m``),
a copy that nothing imports, so its imports cannot close a circle.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("inference", "plugin")
PACKAGE = "eolens"
# In inference/ and its sub-packages a private name may not leave its module at all.
FLAT = ("inference",)


@dataclass(frozen=True)
class PrivateUse:
    """``importer`` uses ``name``, private to module ``source``, at ``line``."""

    importer: str
    source: str
    name: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} uses {self.source}.{self.name}"


def modules(repo: Path = REPO, roots: tuple[str, ...] = ROOTS) -> dict[str, Path]:
    """Dotted module name (``plugin.panels.dock``; a package is its ``__init__``) -> file."""
    found: dict[str, Path] = {}
    for root in roots:
        for path in sorted((repo / root).rglob("*.py")):
            parts = path.relative_to(repo).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _base(importer: str, is_package: bool, node: ast.ImportFrom) -> str | None:
    """The dotted module a ``from ... import`` reads from, or None when outside the tree."""
    if node.level == 0:
        mod = node.module or ""
        return mod[len(PACKAGE) + 1:] if mod.startswith(PACKAGE + ".") else None
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    if node.level - 1 > len(package):  # above ``eolens``, the folder the roots live in
        return None
    parts = package[:len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    return ".".join(parts) or None


def _targets(importer: str, is_package: bool, node: ast.AST, known: dict[str, Path]):
    """(module imported, name taken from it or None) for each name of one import statement."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.startswith(PACKAGE + "."):
                name = alias.name[len(PACKAGE) + 1:]
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name:
                    yield name, None
        return
    if not isinstance(node, ast.ImportFrom):
        return
    base = _base(importer, is_package, node)
    if base is None:
        return
    for alias in node.names:
        if f"{base}.{alias.name}" in known:
            yield f"{base}.{alias.name}", None
        elif base in known:
            yield base, alias.name


def _is_script_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (its ``else`` still counts)."""
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _walk(tree: ast.AST):
    """``ast.walk`` without the bodies of ``if __name__ == "__main__":`` blocks."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if _is_script_block(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _trees(known: dict[str, Path]):
    for name, path in known.items():
        yield name, path.name == "__init__.py", ast.parse(path.read_text(encoding="utf-8"))


def module_graph(repo: Path = REPO, roots: tuple[str, ...] = ROOTS) -> dict[str, set[str]]:
    """module -> the modules of the tree it imports, anywhere in its body."""
    known = modules(repo, roots)
    graph: dict[str, set[str]] = {}
    for name, is_pkg, tree in _trees(known):
        deps = {mod for node in _walk(tree) for mod, _ in _targets(name, is_pkg, node, known)}
        graph[name] = deps - {name}
    return graph


def with_family_loaders(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """runtime imports each family module by name (importlib): those are edges too."""
    from eolens.inference.models.registry import FAMILY_LOADERS

    out = {k: set(v) for k, v in graph.items()}
    out["inference.models.runtime"] |= {"inference.models." + spec.split(":")[0] for spec in FAMILY_LOADERS.values()}
    return out


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package_of(module: str, known: dict[str, Path]) -> str:
    return module if known[module].name == "__init__.py" else module.rpartition(".")[0]


def _crosses(importer: str, source: str, known: dict[str, Path]) -> bool:
    """A private name may stay inside its package (inside its module for a flat package)."""
    if importer == source:
        return False
    src_pkg = _package_of(source, known)
    return src_pkg != _package_of(importer, known) or src_pkg.split(".")[0] in FLAT


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(repo: Path = REPO, roots: tuple[str, ...] = ROOTS) -> list[PrivateUse]:
    """Private names imported (``from m import _x``) or read off an imported module (``m._x``)."""
    known = modules(repo, roots)
    bad: list[PrivateUse] = []
    for importer, is_pkg, tree in _trees(known):
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            for mod, name in _targets(importer, is_pkg, node, known):
                if name is None and isinstance(node, ast.ImportFrom):
                    alias = next(a for a in node.names if mod.endswith("." + a.name))
                    aliases[alias.asname or alias.name] = mod
                elif name is None and isinstance(node, ast.Import):
                    aliases.update({a.asname: mod for a in node.names if a.asname})
                elif _is_private(name) and _crosses(importer, mod, known):
                    bad.append(PrivateUse(importer, mod, name, node.lineno))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and _is_private(node.attr)
                    and _crosses(importer, aliases[node.value.id], known)):
                bad.append(PrivateUse(importer, aliases[node.value.id], node.attr, node.lineno))
    return bad


def test_no_import_cycles():
    graph = with_family_loaders(module_graph())
    assert {"inference.models.runtime", "inference.errors", "plugin.dock", "plugin.panels.search_panel",
            "plugin.processing.algorithms.base", "plugin.processing.provider"} <= set(graph)
    assert "plugin.processing.algorithms.base" in graph["plugin.processing.algorithms.change"]
    bad = [sorted(c) for c in cycles(graph)]
    assert not bad, f"import cycles: {bad}"


def test_loading_helpers_are_leaves():
    """Every family loads weights and words errors through leaf modules, never the runtime."""
    graph = module_graph()
    assert graph["inference.models.weights"] <= {"inference.errors"}
    assert graph["inference.errors"] == set()
    from eolens.inference.models.registry import FAMILY_LOADERS

    for spec in FAMILY_LOADERS.values():
        assert "inference.models.runtime" not in graph["inference.models." + spec.split(":")[0]], spec


def test_no_private_name_crosses_a_boundary():
    bad = private_uses()
    assert not bad, "\n".join(map(str, bad))


def _plant(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_the_check_finds_a_cycle_across_packages(tmp_path):
    _plant(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f():\n    from .sub import b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/b.py": "from ...pkg.c import y\n",
        "pkg/c.py": "from . import a\nimport eolens.pkg.sub.b as bb\n",
        "pkg/d.py": "from .c import z\n",
        "pkg/e.py": "if __name__ == '__main__':\n    from .f import main\n",
        "pkg/f.py": "from .e import x\n",
    })
    graph = module_graph(tmp_path, ("pkg",))
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"}
    assert graph["pkg.c"] == {"pkg.a", "pkg.sub.b"} and graph["pkg.d"] == {"pkg.c"}
    assert graph["pkg.e"] == set() and graph["pkg.f"] == {"pkg.e"}  # a script block is no edge
    assert cycles(graph) == [frozenset({"pkg.a", "pkg.sub.b", "pkg.c"})]


def test_the_check_finds_private_names(tmp_path):
    _plant(tmp_path, {
        "inference/__init__.py": "__version__ = '1'\n",
        "inference/m.py": "_x = 1\n",
        "inference/n.py": "from .m import _x\nfrom . import __version__\n",
        "plugin/__init__.py": "",
        "plugin/p.py": "from ..inference import m\nprint(m._x, m.__name__)\n",
        "plugin/q.py": "_y = 2\n",
        "plugin/r.py": "from .q import _y\n",
        "plugin/panels/s.py": "from ..q import _y\n",
    })
    found = sorted(map(str, private_uses(tmp_path)))
    assert found == ["inference.n:1 uses inference.m._x", "plugin.p:2 uses inference.m._x",
                     "plugin.panels.s:1 uses plugin.q._y"]
