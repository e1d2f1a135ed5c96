"""`make package` ships runtime files only; `make tiny-models` writes every family, loadable by path."""
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ACADEMIC = ("levir", "dota", "p1888", "oscd", "rennes", "taizhou", "ucm", "captions.json")


def test_package_holds_runtime_files_only(tmp_path):
    out = subprocess.run(["make", "-s", "package"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    names = zipfile.ZipFile(REPO / "build" / "eolens.zip").namelist()
    assert "eolens/metadata.txt" in names and "eolens/__init__.py" in names
    assert "eolens/plugin/main.py" in names and "eolens/inference/actions.py" in names
    assert "eolens/i18n/eolens_de.qm" in names
    assert not [n for n in names if "/tests/" in n or "/tools/" in n or "/bench/" in n or n.endswith(".ts")]
    assert not [n for n in names if any(word in n.lower() for word in ACADEMIC)]


def test_tiny_models_cover_every_family_and_resolve_by_path(tmp_path):
    from eolens.inference.registry import FAMILY_LOADERS
    from eolens.inference.runtime import resolve_spec

    out = subprocess.run([sys.executable, "-m", "tools.tiny_models", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    built = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    families = {resolve_spec(path).family for path in built.values()}
    assert families == set(FAMILY_LOADERS)
