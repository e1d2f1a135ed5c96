"""Replacing the private package folder under Windows file locks (simulated: no Windows machine).

Windows behaviour simulated here, as reported upstream: a rename or removal of a file another
process holds fails with PermissionError winerror 5 or 32 and succeeds once the lock is gone
(antivirus); a loaded DLL can be renamed but not deleted; a folder with files in use may refuse to be
renamed. ``sys.platform`` is patched to win32 and a ``\\\\?\\`` link to ``/`` in the working folder
lets the long-path-prefixed names reach the real files.
"""
from __future__ import annotations

import ntpath
import os
import shutil
import sys
from pathlib import Path

import pytest

from eolens.plugin import folder_swap, installer

PREFIX = "\\\\?\\"


def win_error(code: int, path) -> PermissionError:
    """The exception Windows raises: errno 13 with the Win32 code in ``winerror``."""
    text = {5: "Access is denied", 32: "The process cannot access the file because it is being "
            "used by another process"}[code]
    err = PermissionError(13, text, os.fspath(path))
    err.winerror = code
    return err


class WinLocks:
    """Patches os.replace / os.unlink / shutil.rmtree to behave like Windows with locked paths."""

    def __init__(self, monkeypatch, cwd: Path) -> None:
        monkeypatch.setattr(sys, "platform", "win32")
        monkeypatch.chdir(cwd)
        os.symlink("/", cwd / PREFIX)   # "\\?\/tmp/x" resolves to "/tmp/x"
        self.refuse_rename: dict[str, int] = {}   # path -> times left (-1: forever)
        self.undeletable: tuple[str, ...] = ()    # suffixes of loaded DLLs
        self.calls: list[tuple[str, str]] = []
        self.sleeps: list[float] = []
        real_replace, real_unlink, real_rmtree = os.replace, os.unlink, shutil.rmtree

        def replace(src, dst, **kw):
            self.calls.append(("replace", os.fspath(src)))
            self._check_rename(os.fspath(src))
            return real_replace(src, dst, **kw)

        def unlink(path, *a, **kw):
            if os.fspath(path).endswith(self.undeletable):
                raise win_error(5, path)
            return real_unlink(path, *a, **kw)

        def rmtree(path, *a, **kw):
            self.calls.append(("rmtree", os.fspath(path)))
            return real_rmtree(path, *a, **kw)

        for name, fake in (("replace", replace), ("unlink", unlink), ("remove", unlink)):
            monkeypatch.setattr(os, name, fake)
        monkeypatch.setattr(shutil, "rmtree", rmtree)
        monkeypatch.setattr(folder_swap, "_sleep", self.sleeps.append)

    def _check_rename(self, src: str) -> None:
        plain = src[len(PREFIX):] if src.startswith(PREFIX) else src
        left = self.refuse_rename.get(plain, 0)
        if left:
            self.refuse_rename[plain] = left - 1 if left > 0 else -1
            raise win_error(32 if left > 0 else 5, src)


def _folder(path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    return path


def _tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


OLD = {"torch/__init__.py": "old", "torch/lib/torch_cpu.dll": "old dll"}
NEW = {"torch/__init__.py": "new", "torch/lib/torch_cpu.dll": "new dll", folder_swap.VERIFIED: "{}"}


@pytest.fixture
def pair(tmp_path):
    root = tmp_path / "profile"
    target = _folder(root / "pk", OLD)
    staging = _folder(folder_swap.staging_dir(target), NEW)
    return target, staging


def test_swap_on_linux_replaces_the_folder_and_leaves_nothing_beside_it(pair):
    target, staging = pair
    stuck = _folder(target.parent / ".pk.old", {"x.py": ""})  # left by an older release
    result = folder_swap.swap(staging, target)
    assert result.done and _tree(target) == NEW
    assert sorted(os.listdir(target.parent)) == ["pk"]
    assert result.cleanup.removed == [stuck]


def test_a_transient_lock_is_retried_with_backoff(tmp_path, pair, monkeypatch):
    target, staging = pair
    locks = WinLocks(monkeypatch, tmp_path)
    locks.refuse_rename[str(target)] = 2          # an antivirus scan, then free
    result = folder_swap.swap(staging, target)
    assert result.done and result.left_aside is None and _tree(target) == NEW
    assert locks.sleeps == [0.25, 0.5]
    assert sorted(os.listdir(target.parent)) == ["pk"]


def test_a_folder_holding_loaded_dlls_is_moved_aside_file_by_file(tmp_path, pair, monkeypatch):
    target, staging = pair
    locks = WinLocks(monkeypatch, tmp_path)
    locks.refuse_rename[str(target)] = -1         # the folder rename is refused for good
    locks.undeletable = (".dll",)                 # loaded DLLs: renamed fine, never deleted
    result = folder_swap.swap(staging, target)
    assert result.done and _tree(target) == NEW
    aside = target.parent / ".pk.old-1"
    assert result.left_aside == aside and "still in use" in result.message
    assert _tree(aside) == {"torch/lib/torch_cpu.dll": "old dll"}  # only what could not go
    locks.undeletable = ()                        # QGIS restarted: the DLL is free
    again = folder_swap.finish_pending(target)
    assert again is not None and again.cleanup.removed == [aside] and again.cleanup.kept == []
    assert "removed the leftover folder" in again.cleanup.lines()[0]
    assert sorted(os.listdir(target.parent)) == ["pk"]


def test_a_leftover_that_stays_locked_is_reported_and_never_blocks(tmp_path, pair, monkeypatch):
    target, staging = pair
    locks = WinLocks(monkeypatch, tmp_path)
    stuck = _folder(target.parent / ".pk.old-1", {"c10.dll": ""})
    locks.undeletable = (".dll",)
    result = folder_swap.swap(staging, target)
    assert result.done and _tree(target) == NEW
    assert result.cleanup.kept == [stuck] and "still in use" in result.cleanup.lines()[0]
    assert result.left_aside == target.parent / ".pk.old-2"   # a fresh name beside the stuck one


def test_long_path_prefix_is_used_for_every_rename_and_removal(tmp_path, pair, monkeypatch):
    target, staging = pair
    locks = WinLocks(monkeypatch, tmp_path)
    assert folder_swap.swap(staging, target).done
    assert {c[0] for c in locks.calls} == {"replace", "rmtree"}
    assert all(path.startswith(PREFIX) for _, path in locks.calls), locks.calls


def test_long_path_forms_on_windows(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(folder_swap, "_path", ntpath)
    deep = "C:\\Users\\analyst\\AppData\\Roaming\\QGIS\\QGIS3\\profiles\\default\\" + "x" * 240
    assert folder_swap.long_path(deep) == PREFIX + deep
    assert folder_swap.long_path("C:/Users/a/../b") == PREFIX + "C:\\Users\\b"  # normalised first
    assert folder_swap.long_path("\\\\server\\share\\pk") == PREFIX + "UNC\\server\\share\\pk"
    assert folder_swap.long_path(PREFIX + "C:\\pk") == PREFIX + "C:\\pk"
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(folder_swap, "_path", os.path)
    assert folder_swap.long_path("/a/b/../c") == "/a/c"


# --- through the installer ------------------------------------------------------------------------

@pytest.fixture
def fake_pip(monkeypatch):
    """installer.run with pip and the verification replaced: pip 'installs' NEW into staging."""
    calls: list[list[str]] = []

    def run_pip(plan, say, progress, is_cancelled):
        calls.append(plan.pip_args)
        staging = Path(plan.pip_args[plan.pip_args.index("--target") + 1])
        _folder(staging, {k: v for k, v in NEW.items() if k != folder_swap.VERIFIED})

    monkeypatch.setattr(installer, "_run_pip", run_pip)
    monkeypatch.setattr(installer, "verify", lambda *a, **k: {"device": "CPU only."})
    monkeypatch.setattr(installer, "numpy_pin", lambda python: None)
    return calls


def test_permanent_lock_keeps_the_verified_download_and_the_next_run_finishes_it(
        tmp_path, monkeypatch, fake_pip):
    target = _folder(tmp_path / "profile" / "pk", OLD)
    plan = installer.make_plan(target, "cpu", sys.executable, requirements=["torch==2.14.1"])
    locks = WinLocks(monkeypatch, tmp_path)
    locks.refuse_rename[str(target)] = -1
    locks.undeletable = (".dll",)                 # torch is loaded in this QGIS: nothing moves
    locks.refuse_rename[str(target / "torch" / "lib" / "torch_cpu.dll")] = -1
    outcome = installer.run(plan, log=lambda s: None)
    assert not outcome.ok and "Restart QGIS" in outcome.message and str(target) in outcome.message
    assert "without downloading again" in outcome.message
    assert _tree(target) == OLD                   # the old packages still work
    staging = folder_swap.staging_dir(target)
    assert folder_swap.verified_stamp(staging)["torch"] == "cpu" and len(fake_pip) == 1
    assert sorted(os.listdir(target.parent)) == [".pk.staging", "pk"]  # no half-moved copies

    locks.refuse_rename.clear()                   # QGIS restarted
    locks.undeletable = ()
    outcome = installer.run(plan, log=lambda s: None)
    assert outcome.ok, outcome.message
    assert len(fake_pip) == 1                     # no second download
    assert "nothing to download" in "\n".join(outcome.log)
    assert _tree(target)["torch/__init__.py"] == "new"
    assert sorted(os.listdir(target.parent)) == ["pk"]


def test_plugin_start_finishes_a_pending_install(tmp_path, pair):
    target, staging = pair
    folder_swap.mark_verified(staging, {"torch": "cpu"})
    result = folder_swap.finish_pending(target)
    assert result is not None and result.done and _tree(target)["torch/__init__.py"] == "new"
    assert folder_swap.finish_pending(target) is None   # nothing left to do


def test_an_unverified_staging_folder_is_never_swapped_in(tmp_path, pair):
    target, staging = pair
    (staging / folder_swap.VERIFIED).unlink()           # pip was killed half way
    assert folder_swap.finish_pending(target) is None
    assert _tree(target) == OLD and staging.is_dir()     # left for the installer to remove


def test_a_different_install_removes_the_pending_folder_and_says_so(tmp_path, monkeypatch, fake_pip):
    target = _folder(tmp_path / "pk", OLD)
    staging = _folder(folder_swap.staging_dir(target), NEW)
    folder_swap.mark_verified(staging, {"torch": "cuda", "requirements": [], "python": "other"})
    plan = installer.make_plan(target, "cpu", sys.executable, requirements=["torch==2.14.1"])
    outcome = installer.run(plan, log=lambda s: None)
    assert outcome.ok and len(fake_pip) == 1
    assert f"removed the leftover folder {staging}" in outcome.log
