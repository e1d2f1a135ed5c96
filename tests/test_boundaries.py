"""inference/ is pure Python: no qgis, no Qt, and no heavy imports at module load."""
import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("qgis", "PyQt5", "PyQt6", "PySide2", "PySide6", "sip")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_inference_never_imports_qgis_or_qt():
    bad = [f"{p.relative_to(REPO)}:{line} imports {name}"
           for p in sorted((REPO / "inference").rglob("*.py"))
           for line, name in _imports(p) if name.split(".")[0] in FORBIDDEN]
    assert not bad, "\n".join(bad)


def test_boundary_check_catches_a_violation(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from qgis.core import QgsProject\n")
    assert [n for _, n in _imports(bad)] == ["qgis.core"]


def test_plugin_imports_qt_only_through_qgis_pyqt():
    bad = [f"{p.relative_to(REPO)}:{line} imports {name}"
           for p in sorted((REPO / "plugin").rglob("*.py"))
           for line, name in _imports(p) if name.split(".")[0] in ("PyQt5", "PyQt6")]
    assert not bad, "\n".join(bad)


def test_importing_inference_modules_does_not_import_torch():
    code = ("import sys, pkgutil, importlib; sys.path.insert(0, %r); import eolens.inference as i;"
            "names = [m.name for m in pkgutil.walk_packages(i.__path__, 'eolens.inference.')];"
            "[importlib.import_module(n) for n in names];"
            "print('torch' in sys.modules, len(names))") % str(REPO / "build" / "pkgroot")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    torch_loaded, count = out.stdout.split()
    assert torch_loaded == "False"
    assert int(count) > 50  # the sub-packages' modules are imported too
