"""Replace a folder by a verified staging folder, surviving Windows file locks.

Standard library only (no qgis, no Qt): the installer uses it headless, and the plugin calls
:func:`finish_pending` at start, before any package of the folder is imported.

Why each step exists (Windows):
- Antivirus scanners and the search indexer open new files for a moment: a rename then fails
  with ``[WinError 5]``/``[WinError 32]`` and succeeds a second later, so every rename and
  removal is retried with backoff.
- A loaded DLL (torch's, when re-installing in a running QGIS) cannot be deleted, but it can be
  renamed: the loader opens it with delete sharing. Renaming the *folder* that holds it can still
  fail, so the old folder is moved aside file by file when the folder rename is refused, and what
  cannot be deleted stays in a ``.old-N`` folder that the next install or start removes.
- When even that fails, the verified staging folder is kept with its marker; the next install
  or the next start of QGIS (DLLs not loaded yet) finishes the swap without downloading again.
- Paths near 260 characters fail without the ``\\\\?\\`` prefix, which leaves ``.old`` folders
  that nothing can remove; renames and removals use it on Windows.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..inference.io import file_locks
from ..inference.io.file_locks import is_locked

VERIFIED = "eolens-verified.json"   # inside a staging folder: it passed the import check
RENAME_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)   # ~8 s: covers an antivirus scan of a large DLL
REMOVE_DELAYS = (0.25, 1.0)          # a loaded DLL stays locked: do not wait long for it
_sleep = time.sleep                  # replaced in tests
_path = os.path                      # ntpath on Windows; replaced in tests


@dataclass
class Cleanup:
    """Leftover folders of earlier runs: what was removed and what is still locked."""

    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"removed the leftover folder {p}" for p in self.removed]
        return out + [f"could not remove the leftover folder {p} (still in use); it is removed "
                      "at the next start of QGIS" for p in self.kept]


@dataclass
class SwapResult:
    """``done``: the target is the new folder. Otherwise the staging folder is kept (``pending``)."""

    done: bool
    message: str = ""
    left_aside: Optional[Path] = None    # the old folder, moved aside but not (fully) removed
    cleanup: Cleanup = field(default_factory=Cleanup)

    @property
    def pending(self) -> bool:
        return not self.done


# --- Windows-aware primitives ---------------------------------------------------------------

def _windows() -> bool:
    return sys.platform == "win32"


def long_path(path) -> str:
    """``path`` with the ``\\\\?\\`` prefix on Windows (``\\\\?\\UNC\\`` for shares), so paths longer
    than 260 characters can be renamed and removed; unchanged elsewhere."""
    text = _path.abspath(os.fspath(path))
    if not _windows() or text.startswith("\\\\?\\"):
        return text
    if text.startswith("\\\\"):
        return "\\\\?\\UNC\\" + text[2:]
    return "\\\\?\\" + text


def is_lock_error(err: OSError) -> bool:
    """True for the errors a lock gives: Windows 5/32/33, or a PermissionError anywhere."""
    return is_locked(err) or isinstance(err, PermissionError)


def retry(action: Callable[[], None], delays=RENAME_DELAYS) -> None:
    """Run ``action``; on a lock error wait and try again after each of ``delays``."""
    file_locks.retry(action, delays, locked=is_lock_error, sleep=_sleep)


def rename(src: Path, dst: Path, delays=RENAME_DELAYS) -> None:
    """Rename ``src`` to ``dst`` (long-path safe), retrying while it is locked."""
    retry(lambda: os.replace(long_path(src), long_path(dst)), delays)


def _force_writable(func, path, _exc) -> None:
    """rmtree's error hook: a read-only file (git packs, some wheels) is made writable and
    removed again; anything else is raised to the caller."""
    try:
        os.chmod(path, stat.S_IWRITE)
    except OSError:
        pass
    func(path)


def remove_tree(path: Path, delays=REMOVE_DELAYS) -> bool:
    """Remove a folder (or file) completely; False when something in it stays locked."""
    if not os.path.lexists(path):
        return True
    target = long_path(path)

    def remove() -> None:
        if os.path.isdir(target) and not os.path.islink(target):
            hook = {"onexc": _force_writable} if sys.version_info >= (3, 12) else \
                {"onerror": _force_writable}
            shutil.rmtree(target, **hook)
        else:
            os.remove(target)

    try:
        retry(remove, delays)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return not os.path.lexists(path)


# --- markers and leftovers -------------------------------------------------------------------

def staging_dir(target: Path) -> Path:
    return target.parent / f".{target.name}.staging"


def mark_verified(staging: Path, stamp: dict) -> None:
    """Record that ``staging`` passed verification, for ``stamp`` (torch build, requirements…)."""
    (staging / VERIFIED).write_text(json.dumps(stamp, indent=1, sort_keys=True), encoding="utf-8")


def verified_stamp(staging: Path) -> Optional[dict]:
    """The stamp of a verified staging folder; None when it is missing, unverified or damaged."""
    try:
        stamp = json.loads((staging / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def leftovers(target: Path) -> list[Path]:
    """``.<name>.old*`` folders beside ``target``: old copies an earlier swap could not remove."""
    try:
        names = sorted(os.listdir(long_path(target.parent)))
    except OSError:
        return []
    return [target.parent / n for n in names if n.startswith(f".{target.name}.old")]


def clean_leftovers(target: Path, staging: bool = False) -> Cleanup:
    """Remove the old copies an earlier swap left beside ``target`` and, with ``staging``, the
    staging folder of an interrupted install (only the installer may: it owns that folder)."""
    report = Cleanup()
    stale = leftovers(target)
    if staging and os.path.lexists(staging_dir(target)):
        stale.append(staging_dir(target))
    for path in stale:
        (report.removed if remove_tree(path) else report.kept).append(path)
    return report


def _aside_name(target: Path) -> Path:
    n = 1
    while os.path.lexists(target.parent / f".{target.name}.old-{n}"):
        n += 1
    return target.parent / f".{target.name}.old-{n}"


# --- the swap --------------------------------------------------------------------------------

def _move_files(src: Path, dst: Path) -> None:
    """Move every file of ``src`` into ``dst`` one by one, then remove the emptied folders:
    Windows renames a loaded DLL but may refuse to rename the folder around it. All or nothing."""
    moved: list[tuple[str, str]] = []
    root, dest_root = long_path(src), long_path(dst)
    try:
        for folder, _dirs, files in os.walk(root):
            rel = os.path.relpath(folder, root)   # no normpath: \\?\ paths are taken literally
            dest = dest_root if rel == os.curdir else os.path.join(dest_root, rel)
            os.makedirs(dest, exist_ok=True)
            for name in files:
                pair = (os.path.join(folder, name), os.path.join(dest, name))
                retry(lambda p=pair: os.replace(*p), REMOVE_DELAYS)
                moved.append(pair)
        for folder, _dirs, _files in sorted(os.walk(root), key=lambda w: -len(w[0])):
            os.rmdir(folder)
    except OSError:
        for old, new in reversed(moved):
            os.makedirs(os.path.dirname(old), exist_ok=True)
            os.replace(new, old)
        shutil.rmtree(dest_root, ignore_errors=True)   # only the emptied folders are left there
        raise


def move_folder(src: Path, dst: Path) -> None:
    """Rename folder ``src`` to ``dst`` (absent), retrying while locked, else file by file."""
    try:
        rename(src, dst)
    except OSError as err:
        if not is_lock_error(err) or not os.path.isdir(long_path(src)):
            raise
        _move_files(src, dst)


def swap(staging: Path, target: Path) -> SwapResult:
    """Replace ``target`` by ``staging``. Returns done, or pending with the staging folder kept
    (and ``target`` as it was) when Windows keeps refusing; other errors are raised unchanged."""
    cleanup = clean_leftovers(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = _aside_name(target) if os.path.lexists(target) else None
    try:
        if aside is not None:
            move_folder(target, aside)
    except OSError as err:
        if not is_lock_error(err):
            raise
        return SwapResult(False, pending_message(staging, target, err), cleanup=cleanup)
    try:
        move_folder(staging, target)
    except OSError as err:
        if aside is not None:
            move_folder(aside, target)
        if not is_lock_error(err):
            raise
        return SwapResult(False, pending_message(staging, target, err), cleanup=cleanup)
    if aside is not None and not remove_tree(aside):
        return SwapResult(True, f"the old folder, moved to {aside}, is still in use; it is removed "
                                "at the next start of QGIS", aside, cleanup)
    return SwapResult(True, "", None, cleanup)


def pending_message(staging: Path, target: Path, err: OSError) -> str:
    """What happened and what to do, in plain words, when the swap has to wait for a restart."""
    return (f"The new packages are downloaded and verified, but Windows would not let EO Lens "
            f"replace {target}: files in it are in use (by this QGIS, or an antivirus scan) "
            f"[{err.strerror or err}]. Nothing was lost and the old packages still work. Restart "
            f"QGIS: EO Lens then finishes the installation from {staging} without downloading "
            f"again (or click Install again after the restart).")


def finish_pending(target: Path) -> Optional[SwapResult]:
    """At plugin start, before anything from ``target`` is imported: complete an install whose
    verified staging folder is waiting, and remove old copies. None when there was nothing to do."""
    target = Path(target)
    staging = staging_dir(target)
    if verified_stamp(staging) is not None:
        return swap(staging, target)
    if leftovers(target):
        return SwapResult(True, "", cleanup=clean_leftovers(target))
    return None
