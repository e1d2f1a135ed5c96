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
    from eolens.inference.models.registry import FAMILY_LOADERS
    from eolens.inference.models.runtime import resolve_spec

    out = subprocess.run([sys.executable, "-m", "tools.tiny_models", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    built = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    families = {resolve_spec(path).family for path in built.values()}
    assert families == set(FAMILY_LOADERS)


# Rules plugins.qgis.org's upload scan enables (qgis/QGIS-Plugins-Website,
# qgis-app/plugins/management/commands/data/bandit_rules.json, "enabled": true).
REPOSITORY_BANDIT_RULES = (
    "B101,B102,B103,B104,B105,B106,B107,B108,B110,B111,B112,B113,B201,B202,B301,B302,B303,B304,"
    "B305,B306,B307,B308,B310,B311,B312,B313,B314,B315,B316,B317,B318,B319,B320,B321,B323,B324,"
    "B401,B402,B403,B405,B406,B407,B408,B409,B412,B413,B501,B502,B503,B504,B505,B506,B507,B508,"
    "B509,B601,B602,B603,B604,B605,B606,B607,B608,B609,B610,B611,B612,B613,B614,B615,B701,B702,"
    "B703,B704")


def _package() -> zipfile.ZipFile:
    out = subprocess.run(["make", "-s", "package"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return zipfile.ZipFile(REPO / "build" / "eolens.zip")


def test_package_passes_the_repository_bandit_scan(tmp_path):
    import json

    _package().extractall(tmp_path)
    bandit = Path(sys.executable).with_name("bandit")
    out = subprocess.run([str(bandit), "-r", str(tmp_path), "-f", "json", "--quiet",
                          "-t", REPOSITORY_BANDIT_RULES], capture_output=True, text=True, timeout=300)
    findings = [(r["test_id"], r["filename"].replace(str(tmp_path), ""), r["line_number"])
                for r in json.loads(out.stdout)["results"]]
    assert findings == []


def test_package_carries_what_the_installer_and_the_repository_need():
    import configparser

    from eolens.plugin import deps, installer

    z = _package()
    names = z.namelist()
    for f in ("requirements.txt", "constraints.txt", "CHANGELOG.md", "plugin/installer.py"):
        assert f"eolens/{f}" in names
    reqs = z.read("eolens/requirements.txt").decode()
    assert "torch==" in reqs and "shapely" not in reqs.split("#")[0]
    meta = configparser.ConfigParser()
    meta.read_string(z.read("eolens/metadata.txt").decode())
    general = meta["general"]
    assert general["qgisMinimumVersion"] == "3.22" and general["qgisMaximumVersion"] == "4.99"
    wanted = {installer._dist_name(r) for r in installer.read_requirements()} | set(deps.PIP.values())
    about = general["about"].lower()
    missing = [n for n in wanted | {"rasterio", "shapely"} if n.replace("-", "_") not in about.replace("-", "_")]
    assert missing == []


def test_package_refuses_to_ship_without_translations():
    out = subprocess.run(["make", "-s", "-B", "package", "LRELEASE=/nonexistent/lrelease"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "lrelease is missing" in out.stderr


# plugins.qgis.org's secrets scan, as its upload validator runs it (qgis/QGIS-Plugins-Website,
# qgis-app/plugins/security_scanner.py `_check_secrets`, detect-secrets~=1.5): every detect-secrets
# plugin except the ones secrets_rules.json disables ("enabled": false), over the extracted zip.
REPOSITORY_SECRETS_DISABLED = ("IPPublicDetector",)


def _secrets_scan(folder: Path) -> list[tuple[str, str, int]]:
    import json

    cmd = [str(Path(sys.executable).with_name("detect-secrets")), "scan", "--all-files",
           "--exclude-files", r"metadata\.txt", "--exclude-files", r"\.secrets\.baseline"]
    for plugin in REPOSITORY_SECRETS_DISABLED:
        cmd += ["--disable-plugin", plugin]
    out = subprocess.run(cmd + ["."], cwd=folder, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return [(name, found["type"], found["line_number"])
            for name, secrets in json.loads(out.stdout)["results"].items()
            if not name.endswith((".pyc", ".pyo", ".so", ".dll", ".exe")) for found in secrets]


def test_package_passes_the_repository_secrets_scan(tmp_path):
    z = _package()
    assert not [n for n in z.namelist() if n.rsplit("/", 1)[-1] in (".secrets.baseline", ".bandit", ".flake8")]
    z.extractall(tmp_path)
    assert _secrets_scan(tmp_path) == []


def test_secrets_scan_flags_a_credentials_url_like_the_old_proxy_docstring(tmp_path):
    (tmp_path / "proxy.py").write_text('"""``scheme://user:pass@host:port``"""\n')
    assert [t for _, t, _ in _secrets_scan(tmp_path)] == ["Basic Auth Credentials"]
