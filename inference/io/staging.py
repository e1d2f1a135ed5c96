"""All-or-nothing outputs: each staged in a folder beside its destination, moved into place together.

A run writes into ``.eolens-stage-<host>-<pid>-*`` folders on the destination's filesystem; the
commit renames every file into place (keeping what was there until all succeed) or restores the
old files. Staging folders of killed runs are recognised by host and process id and removed.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import EOLensError, InputError
from .file_locks import OutputLockedError, is_locked, locked_message, replace


class OutputExistsError(EOLensError, FileExistsError):
    """The target exists and overwrite was not requested."""


def output_target(path, overwrite: bool, exts: tuple[str, ...]) -> str:
    """The absolute output path (``exts[0]`` added when it has no extension), refused with a
    named error for a wrong extension, a missing folder, or an existing file without ``overwrite``."""
    path = os.path.abspath(os.fspath(path))
    ext = os.path.splitext(path)[1]
    if not ext:
        path, ext = path + exts[0], exts[0]
    if ext.lower() not in exts:
        raise InputError(f"Cannot write '{path}': use one of {', '.join(exts)}.")
    if not os.path.isdir(os.path.dirname(path)):
        raise InputError(f"Output folder '{os.path.dirname(path)}' does not exist.")
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(f"'{path}' already exists; choose another name or allow overwriting.")
    return path


STAGE_PREFIX = ".eolens-stage-"
_STAGE_NAME = re.compile(r"\.eolens-stage-(?P<host>.+)-(?P<pid>\d+)-[A-Za-z0-9_]+")
_LEGACY_STAGE = re.compile(r"\.eolens-[A-Za-z0-9_]{8}")  # tempfile.mkdtemp(prefix=".eolens-")
STALE_AGE_S = 6 * 3600  # staging of another machine (or an old release) older than this is dead


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname() or "host")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def _is_stale(entry: os.DirEntry, now: float) -> bool:
    match = _STAGE_NAME.fullmatch(entry.name)
    if match and match["host"] == _host():
        return not _alive(int(match["pid"]))
    if match or _LEGACY_STAGE.fullmatch(entry.name):
        try:
            return now - entry.stat().st_mtime > STALE_AGE_S
        except OSError:
            return False
    return False


def clean_stale_staging(folder: str, outputs: tuple[str, ...] = ()) -> list[str]:
    """Remove what killed runs of EO Lens left in ``folder``: staging folders of dead processes
    (or, from other machines, older than ``STALE_AGE_S``) and ``<output>.part`` files."""
    removed: list[str] = []
    now = time.time()
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".eolens-") and e.is_dir()]
    except OSError:
        return removed
    for entry in entries:
        if _is_stale(entry, now):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    for out in outputs:
        part = os.path.abspath(out) + ".part"
        if os.path.isfile(part):
            try:
                os.remove(part)
                removed.append(part)
            except OSError:
                pass
    return removed


@dataclass
class Stage:
    """One staged output: its folder beside ``target``, stale sidecars, and a GeoPackage layer."""

    folder: str
    target: str
    stale: tuple[str, ...]
    layer: str | None = None   # a layer put into the existing GeoPackage ``target`` in place

    @property
    def path(self) -> str:
        """The staged file that becomes ``target``."""
        return os.path.join(self.folder, os.path.basename(self.target))


class OutputSet:
    """The outputs of one run, each staged in a folder beside its destination (same filesystem)
    and moved into place together by :meth:`commit`, or not at all.

    ``with OutputSet() as outs: path = outs.stage(target); ...; outs.commit()`` -- leaving the
    block without a commit (an error, a cancel) removes every staged file.
    """

    def __init__(self) -> None:
        self._stages: list[Stage] = []
        self._named: list[Stage] = []  # every stage made, kept for messages after a discard
        self.replaced: list[str] = []

    def stage(self, target: str, stale: tuple[str, ...] = (), layer: str | None = None) -> str:
        """A path to write ``target``'s content to (sidecars: same stem, beside it). With
        ``layer``, ``target`` is an existing GeoPackage: the staged file's layer of that name is
        put into it in place at commit, and its other layers stay as they are."""
        target = os.path.abspath(target)
        try:
            folder = tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{_host()}-{os.getpid()}-",
                                      dir=os.path.dirname(target))
        except OSError as err:
            raise EOLensError(f"Cannot write '{target}': {err.strerror or err}.") from err
        self._stages.append(Stage(folder, target, stale, layer))
        self._named.append(self._stages[-1])
        return os.path.join(folder, os.path.basename(target))

    def temp_names(self) -> list[tuple[str, str]]:
        """(staged path, destination) pairs, to put the analyst's names back into messages (also
        after a failure discarded the staged files)."""
        return [(os.path.join(s.folder, os.path.basename(s.target)), s.target) for s in self._named] + \
            [(s.folder, os.path.dirname(s.target)) for s in self._named]

    def commit(self) -> list[str]:
        """Move every staged file into place, then put staged layers into their GeoPackages; on
        any failure restore what was there. Returns the destinations that replaced a file."""
        backups: list[tuple[str, str]] = []
        placed: list[str] = []
        replaced: list[str] = []
        try:
            for st in self._stages:
                if st.layer is None:
                    replaced += self._place(st, backups, placed)
            for st in self._stages:
                if st.layer is not None:
                    from .gpkg_update import replace_layer

                    replace_layer(st.target, st.path, st.layer)
        except (OSError, EOLensError) as err:
            error = self._commit_error(err)
            self._roll_back(backups, placed)
            raise error from err
        self.discard()
        self.replaced = replaced
        return replaced

    @staticmethod
    def _place(st: Stage, backups: list, placed: list) -> list[str]:
        """Move one stage's files over the destination, keeping what was there in ``.replaced``."""
        root = os.path.splitext(st.target)[0]
        stem = os.path.basename(root)
        suffixes = [n[len(stem):] for n in os.listdir(st.folder) if n.startswith(stem)]
        old = os.path.join(st.folder, ".replaced")
        replaced = [st.target] if os.path.exists(st.target) else []
        for suffix in dict.fromkeys([*suffixes, *st.stale]):
            if os.path.lexists(root + suffix):
                os.makedirs(old, exist_ok=True)
                backup = os.path.join(old, stem + suffix)
                replace(root + suffix, backup)
                backups.append((backup, root + suffix))
        for suffix in sorted(suffixes):
            replace(os.path.join(st.folder, stem + suffix), root + suffix)
            placed.append(root + suffix)
        return replaced

    def _roll_back(self, backups: list, placed: list) -> None:
        for path in placed:
            if os.path.isfile(path):
                os.remove(path)
        for backup, path in reversed(backups):
            os.replace(backup, path)
        self.discard()

    def _commit_error(self, err: OSError | EOLensError) -> EOLensError:
        """The error to raise, naming the analyst's file rather than a staged one."""
        if isinstance(err, EOLensError):
            return err
        name = getattr(err, "filename", "") or "the outputs"
        name = dict(self.temp_names()).get(name, name)
        if is_locked(err):
            return OutputLockedError(locked_message(name))
        return EOLensError(f"Cannot write '{name}': {err.strerror or err}; no output was changed.")

    def discard(self) -> None:
        """Remove every staged file; the targets stay as they were."""
        for st in self._stages:
            shutil.rmtree(st.folder, ignore_errors=True)
        self._stages = []

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


@contextmanager
def staging(target: str, stale: tuple[str, ...] = (), outputs: OutputSet | None = None,
             layer: str | None = None) -> Iterator[str]:
    """Where to write ``target``: into ``outputs`` (committed by the caller), or a one-file set
    committed when the block ends without error. ``layer``: see :meth:`OutputSet.stage`."""
    if outputs is not None:
        yield outputs.stage(target, stale, layer)
        return
    with OutputSet() as own:
        yield own.stage(target, stale, layer)
        own.commit()
