"""Offline kits: export from local wheels and model folders, check, refuse, install with no network."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import PKG_ROOT, REPO

from eolens.plugin import installer, installer_cli, offline_kit
from eolens.plugin.offline_kit import KitError

UNREACHABLE = "http://127.0.0.1:9"
BSD_TEXT = "BSD 3-Clause License\n        \n        Copyright (c) the kit tests"


def make_wheel(folder: Path, name: str, version: str, headers: str = "", requires=()) -> Path:
    """A real, installable pure-Python wheel written by hand (no build backend, no index)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires) + headers
    files = {f"{dist}/__init__.py": f"VALUE = {version!r}\n", f"{info}/METADATA": meta,
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join(record + [f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@pytest.fixture
def wheelhouse(tmp_path) -> Path:
    house = tmp_path / "wheelhouse"
    house.mkdir()
    make_wheel(house, "eolens-kit-a", "1.0", "License-Expression: MIT\n", requires=["eolens-kit-b>=2"])
    make_wheel(house, "eolens-kit-b", "2.1", f"License: {BSD_TEXT}\n"
               "Classifier: License :: OSI Approved :: BSD License\n")
    make_wheel(house, "eolens-kit-c", "0.3")
    make_wheel(house, "eolens-kit-c", "0.4")  # a newer one the kit must not pick up at install
    (house / "eolens_kit_c-0.4-py3-none-any.whl").rename(house / "newer-c.keep")
    return house


@pytest.fixture
def offline_pip(monkeypatch, wheelhouse):
    """pip sees only the wheelhouse; any attempt at the network goes to a closed port."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # this machine's pip.conf lists local indexes
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    monkeypatch.setenv("PIP_INDEX_URL", UNREACHABLE + "/simple")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, UNREACHABLE)
    monkeypatch.delenv("PIP_CONSTRAINT", raising=False)
    return wheelhouse


@pytest.fixture
def model_folders(tmp_path) -> tuple[Path, Path]:
    card = tmp_path / "src-models" / "tiny-card"
    bare = tmp_path / "src-models" / "tiny-bare"
    for folder in (card, bare):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"model_type": "florence2"}))
        (folder / "model.safetensors").write_bytes(os.urandom(2048))
    (card / "README.md").write_text("---\nlicense: apache-2.0\ntags: [remote-sensing]\n---\n# Tiny\n")
    return card, bare


def _export(dest: Path, models=(), **kw) -> Path:
    lines: list[str] = []
    kw.setdefault("requirements", ["eolens-kit-a", "eolens-kit-c"])
    offline_kit.export_kit(dest, torch="cuda", models=models, log=lines.append, **kw)
    return dest


@pytest.fixture
def kit(tmp_path, offline_pip, model_folders) -> Path:
    card, bare = model_folders
    return _export(tmp_path / "kit", models=[str(card), f"renamed={bare}"])


def test_export_writes_wheels_models_sums_licences_and_kit_json(kit, model_folders):
    assert sorted(p.name for p in (kit / "wheels").iterdir()) == [
        "eolens_kit_a-1.0-py3-none-any.whl", "eolens_kit_b-2.1-py3-none-any.whl",
        "eolens_kit_c-0.3-py3-none-any.whl"]
    assert not kit.with_name("kit.partial").exists()
    card, _ = model_folders
    assert (kit / "models" / "tiny-card" / "model.safetensors").read_bytes() == \
        (card / "model.safetensors").read_bytes()
    assert (kit / "models" / "renamed" / "config.json").is_file()

    sums = dict(reversed(line.split("  ", 1)) for line in (kit / "SHA256SUMS").read_text().splitlines())
    files = {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(sums) == files and "kit.json" in sums and "LICENSES.txt" in sums
    for rel, digest in sums.items():
        assert hashlib.sha256((kit / rel).read_bytes()).hexdigest() == digest, rel
    if shutil.which("sha256sum"):  # the file is in sha256sum's own format
        assert subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=kit).returncode == 0

    licences = (kit / "LICENSES.txt").read_text()
    assert "eolens-kit-a 1.0: MIT\n" in licences
    assert "eolens-kit-b 2.1: BSD 3-Clause License; BSD License\n" in licences
    assert "eolens-kit-c 0.3: unknown — check before redistribution\n" in licences
    assert "tiny-card: apache-2.0 (model card)\n" in licences
    assert "renamed: unknown — check before redistribution\n" in licences

    meta = json.loads((kit / "kit.json").read_text())
    assert (meta["os"], meta["python"], meta["torch"]) == (sys.platform, "%d.%d" % sys.version_info[:2], "cuda")
    assert meta["requirements"] == ["eolens-kit-a", "eolens-kit-c"]
    assert meta["pins"] == ["eolens-kit-a==1.0", "eolens-kit-b==2.1", "eolens-kit-c==0.3"]
    assert meta["models"] == ["renamed", "tiny-card"]
    assert meta["numpy"] == installer.numpy_pin(sys.executable).split("==")[1]
    version = re.search(r"^version=(\S+)", (REPO / "metadata.txt").read_text(), re.M).group(1)
    assert meta["plugin_version"] == version
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["created"])
    assert (kit / "pins.txt").read_text().split() == meta["pins"]


def test_export_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path, offline_pip):
    dest = tmp_path / "kit"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(KitError, match=re.escape(str(dest)) + " already exists and is not empty"):
        _export(dest)
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "kit.partial").exists()


def test_failed_download_leaves_no_kit_and_no_partial_folder(tmp_path, offline_pip):
    with pytest.raises(KitError, match="could not find a package version.*No kit was written"):
        _export(tmp_path / "kit", requirements=["eolens-no-such-package==9.9"])
    assert not (tmp_path / "kit").exists() and not (tmp_path / "kit.partial").exists()


def test_a_model_that_is_neither_a_folder_nor_cached_is_refused_before_anything(tmp_path, offline_pip,
                                                                                 monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(KitError, match="'org/not-cached'.*not in the local Hugging Face cache"):
        _export(tmp_path / "kit", models=["org/not-cached"])
    with pytest.raises(KitError, match=r"--models '\./nowhere': no such folder"):
        _export(tmp_path / "kit", models=["./nowhere"])
    assert not (tmp_path / "kit").exists() and not (tmp_path / "kit.partial").exists()


def test_hub_models_come_from_the_local_cache_with_their_symlinks_resolved(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    repo = cache / "models--org--tiny"
    commit = "a" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir()
    (repo / "blobs" / "123").write_text('{"model_type": "dinov2"}')
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    (snap / "config.json").symlink_to(repo / "blobs" / "123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert offline_kit.resolve_model("org/tiny") == ("tiny", snap)
    assert offline_kit.resolve_model(f"org/tiny@{commit}") == ("tiny", snap)
    assert offline_kit.resolve_model("mine=org/tiny") == ("mine", snap)
    copied = offline_kit.copy_model("tiny", snap, tmp_path / "models")
    assert not (copied / "config.json").is_symlink()
    assert json.loads((copied / "config.json").read_text()) == {"model_type": "dinov2"}


@pytest.mark.parametrize("damage, said", [
    (lambda k: (k / "wheels" / "eolens_kit_b-2.1-py3-none-any.whl").write_bytes(b"PK tampered"),
     "wheels/eolens_kit_b-2.1-py3-none-any.whl was changed"),
    (lambda k: (k / "models" / "tiny-card" / "config.json").unlink(),
     "models/tiny-card/config.json is missing"),
    (lambda k: (k / "wheels" / "extra-0.1-py3-none-any.whl").write_bytes(b"x"),
     "wheels/extra-0.1-py3-none-any.whl is not listed in SHA256SUMS"),
    (lambda k: (k / "kit.json").write_text((k / "kit.json").read_text().replace('"3.', '"4.')),
     "kit.json was changed"),
])
def test_a_damaged_kit_is_refused_naming_the_file_and_nothing_changes(kit, tmp_path, damage, said):
    damage(kit)
    target, models = tmp_path / "target", tmp_path / "models"
    with pytest.raises(KitError, match="failed its checksum check, so nothing was installed: .*"
                       + re.escape(said)):
        offline_kit.install_from_kit(kit, target, sys.executable, models, log=lambda s: None)
    assert not target.exists() and not models.exists()


@pytest.mark.parametrize("options, said", [
    ({"python_version": "3.12", "numpy": "1.24.2"}, "Python 3.12"),
    ({"platforms": ["win_amd64"], "numpy": "1.24.2"}, "win32 x86_64"),
])
def test_a_kit_for_another_python_or_os_is_refused(tmp_path, offline_pip, options, said):
    kit = _export(tmp_path / "kit", **options)
    target = tmp_path / "target"
    here = "%d.%d" % sys.version_info[:2]
    with pytest.raises(KitError, match=f"This kit is for .*{re.escape(said)}.*but .* is "
                       f"{sys.platform} .*Python {here}; nothing was installed"):
        offline_kit.install_from_kit(kit, target, sys.executable, tmp_path / "m", log=lambda s: None)
    assert not target.exists()


def test_requirements_are_read_for_the_kit_os_not_this_one(tmp_path, offline_pip):
    reqs = tmp_path / "reqs.txt"
    reqs.write_text('eolens-kit-a; sys_platform == "linux"\n'
                    'eolens-kit-c; sys_platform == "win32" or sys_platform == "darwin"\nnumpy\n')
    kit = tmp_path / "win-kit"
    offline_kit.export_kit(kit, platforms=["win_amd64"], python_version="3.12", numpy="1.26.4",
                           torch="cpu", requirements_file=reqs, log=lambda s: None)
    meta = json.loads((kit / "kit.json").read_text())
    assert (meta["os"], meta["machine"], meta["python"], meta["numpy"]) == ("win32", "x86_64", "3.12", "1.26.4")
    assert meta["requirements"] == ["eolens-kit-c"] and meta["pins"] == ["eolens-kit-c==0.3"]
    with pytest.raises(KitError, match=f"--requirements {re.escape(str(tmp_path / 'none.txt'))}: no such"):
        offline_kit.export_kit(tmp_path / "k2", requirements_file=tmp_path / "none.txt", log=print)


def test_another_os_needs_the_target_numpy_and_one_os_per_kit():
    with pytest.raises(KitError, match="give --numpy"):
        offline_kit.numpy_for(offline_kit.target_info(["win_amd64"]), "", sys.executable)
    with pytest.raises(KitError, match="One kit is for one OS"):
        offline_kit.target_info(["win_amd64", "manylinux_2_28_x86_64"])
    with pytest.raises(KitError, match="--platform 'amiga_68k'"):
        offline_kit.target_info(["amiga_68k"])
    assert offline_kit.tag_os("manylinux_2_28_x86_64") == ("linux", "x86_64")
    assert offline_kit.tag_os("macosx_11_0_arm64") == ("darwin", "arm64")
    assert offline_kit.tag_os("win_amd64") == ("win32", "x86_64")


def test_kit_plan_uses_only_the_kit_wheels_through_the_installer_path(tmp_path):
    plan = installer.make_plan(tmp_path / "pk", "cpu", sys.executable, requirements=["torch==2.14.1"],
                               platform="linux", find_links=tmp_path / "kit" / "wheels",
                               no_index=True, constraint_files=[tmp_path / "kit" / "pins.txt"])
    args = plan.pip_args
    assert "--extra-index-url" not in args and "--isolated" in args and "--no-index" in args
    assert args[args.index("--find-links") + 1] == str(tmp_path / "kit" / "wheels")
    constraints = [args[i + 1] for i, a in enumerate(args) if a == "--constraint"]
    assert constraints[1] == str(tmp_path / "kit" / "pins.txt")
    assert Path(constraints[0]).name.endswith("-constraints.txt")  # run() writes and removes this one
    assert plan.download_mb == 0 and plan.requirements == ["torch==2.14.1+cpu"]


def _no_network_prefix() -> list[str]:
    """``unshare -n`` (an empty network namespace) where this user may create one."""
    exe = shutil.which("unshare")
    if exe and subprocess.run([exe, "-n", "true"], capture_output=True).returncode == 0:
        return [exe, "-n", "--"]
    return []


def _from_kit(kit: Path, target: Path, models: Path, python: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PKG_ROOT)}
    cmd = _no_network_prefix() + [sys.executable, "-m", "eolens.plugin.installer", "--from-kit",
                                  str(kit), "--target", str(target), "--models-dir", str(models),
                                  "--python", python]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def test_from_kit_installs_offline_through_staging_and_verification(kit, tmp_path, offline_pip):
    (offline_pip / "newer-c.keep").rename(offline_pip / "eolens_kit_c-0.4-py3-none-any.whl")
    target, models = tmp_path / "target", tmp_path / "models"
    res = _from_kit(kit, target, models, sys.executable)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "files of" in out and "match SHA256SUMS" in out
    assert "--no-index" in out and "verifying the new packages with" in out
    assert (target / "eolens_kit_a" / "__init__.py").read_text() == "VALUE = '1.0'\n"
    assert (target / "eolens_kit_c" / "__init__.py").read_text() == "VALUE = '0.3'\n"  # the kit's
    assert json.loads((target / "eolens-packages.json").read_text())["requirements"] == \
        ["eolens-kit-a", "eolens-kit-c"]
    for name in ("tiny-card", "renamed"):
        assert offline_kit._tree_digest(models / name) == offline_kit._tree_digest(kit / "models" / name)
    assert "set EO Lens Settings… ▸ Local model folder to that folder" in out and str(models) in out
    assert not list(tmp_path.glob(".target*")) and not list(models.glob(".*partial"))

    again = _from_kit(kit, target, models, sys.executable)  # identical models are kept, not refused
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]


def test_from_kit_failing_verification_changes_nothing(kit, tmp_path, offline_pip):
    """QGIS's bare Python has no torch: pip succeeds, the verification fails, the target stays."""
    bare = "/usr/bin/python3"
    probe = subprocess.run([bare, "-c", "import torch"], capture_output=True)
    if probe.returncode == 0:
        pytest.fail(f"{bare} has torch; this test needs an interpreter without it")
    target, models = tmp_path / "target", tmp_path / "models"
    target.mkdir()
    (target / "previous.txt").write_text("old install")
    res = _from_kit(kit, target, models, bare)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-3000:]
    assert "Verification failed, nothing was changed: torch: ModuleNotFoundError" in out
    assert [p.name for p in target.iterdir()] == ["previous.txt"] and not models.exists()


def test_cli_export_and_its_errors(tmp_path, offline_pip, capsys):
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("# a custom kit\neolens-kit-c\nnumpy\n")  # numpy is QGIS's: dropped
    dest = tmp_path / "cli-kit"
    assert installer_cli.main(["--export-kit", str(dest), "--requirements", str(reqs), "--torch", "cuda"]) == 0
    assert json.loads((dest / "kit.json").read_text())["requirements"] == ["eolens-kit-c"]
    assert "Wrote the offline kit" in capsys.readouterr().out
    assert installer_cli.main(["--export-kit", str(dest), "--requirements", str(reqs)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert installer_cli.main(["--from-kit", str(tmp_path / "nowhere")]) == 2
    assert "is not an EO Lens offline kit" in capsys.readouterr().err
