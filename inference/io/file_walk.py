"""One file walker for every place that gathers files from folders or patterns.

:func:`walk_files` takes folders, files and glob patterns (``**`` included) and returns the
regular files found, sorted, plus the entries it skipped and why. It never opens a file, never
aborts on a bad entry and always ends:

- only regular files are returned: a named pipe, socket or device is a reported skip (reading
  one would block or never end);
- each real folder is searched once (its ``(st_dev, st_ino)`` is remembered), so a loop of
  folder links ends; ``glob``'s ``**`` follows such loops, so patterns are matched here;
- a dangling or looping link and an entry that cannot be read (permission denied) are reported
  skips;
- the walk is bounded: at most ``max_files`` files, ``max_entries`` entries looked at and
  ``max_depth`` folder levels, each limit reported when it is hit.

Standard library only.
"""
from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Optional

MAX_FILES = 100_000
MAX_ENTRIES = 1_000_000
MAX_DEPTH = 64
MAX_SKIPS = 200            # skips listed one by one; the rest are counted
_MAGIC = frozenset("*?[")
_SEPS = tuple(s for s in (os.sep, os.altsep) if s)


@dataclass(frozen=True)
class Skip:
    """An entry the walk did not take: its path and why, in words for the analyst."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"Skipped '{self.path}': {self.reason}."


@dataclass
class WalkResult:
    """The regular files found (sorted, unique), the skips, roots that do not exist and the
    limits that were hit (one sentence each)."""

    files: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    more_skips: int = 0

    @property
    def warnings(self) -> list[str]:
        """Every skip and limit as one sentence naming the path."""
        out = [str(s) for s in self.skipped]
        if self.more_skips:
            out.append(f"{self.more_skips} more entries were skipped.")
        return out + self.limits


def is_pattern(text: str) -> bool:
    """True when ``text`` holds a glob wildcard (``*``, ``?`` or ``[``)."""
    return any(c in _MAGIC for c in text)


def walk_files(roots: Sequence[str], extensions: Sequence[str] = (), *,
               max_files: int = MAX_FILES, max_entries: int = MAX_ENTRIES,
               max_depth: int = MAX_DEPTH, max_bytes: Optional[int] = None,
               skip_hidden: bool = False) -> WalkResult:
    """The regular files under ``roots`` (folders, files or glob patterns) and the skips.

    ``extensions`` (with the dot) filters the files found in folders and by patterns such as
    ``/data/**``; a file named as a root, or matched by a pattern whose last part names the
    extension (``/data/**/*.png``), is taken as given. ``max_bytes`` skips larger files.
    ``skip_hidden`` ignores (without a report) names starting with a dot.
    """
    walker = _Walker(tuple(e.lower() for e in extensions), max_files, max_entries, max_depth,
                     max_bytes, skip_hidden)
    for root in roots:
        if walker.stopped:
            break
        walker.root(str(root))
    return walker.finish()


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file (a named pipe that took its place
    since the walk raises ``OSError`` instead of blocking)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    return "not a regular file"


def _link_problem(path: str, err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "a link that loops back on itself"
    if err.errno in (errno.ENOENT, errno.ENOTDIR) and os.path.islink(path):
        try:
            return f"a link to '{os.readlink(path)}', which does not exist"
        except OSError:
            return "a link to something that does not exist"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"it cannot be read ({err.strerror or err})"


def _split_pattern(pattern: str) -> tuple[str, list[str]]:
    """(the folder before the first wildcard, the pattern's components after it)."""
    first = min(i for i, c in enumerate(pattern) if c in _MAGIC)
    cut = max(pattern.rfind(s, 0, first) for s in _SEPS)
    base = pattern[:cut] if cut > 0 else (pattern[:1] if cut == 0 else "")
    rest = pattern[cut + 1:]
    if base.endswith(":"):  # a Windows drive: its root, not its current folder
        base += os.sep
    for sep in _SEPS[1:]:
        rest = rest.replace(sep, _SEPS[0])
    parts: list[str] = []
    for part in rest.split(_SEPS[0]):
        if part and not (part == "**" and parts[-1:] == ["**"]):  # **/** is **
            parts.append(part)
    return base, parts


def _matches(parts: Sequence[str], names: Sequence[str], *, prefix: bool = False) -> bool:
    """Whether ``names`` match the pattern ``parts`` (``**``: zero or more folders); with
    ``prefix``, whether a path below ``names`` could still match."""
    if not names:
        return bool(parts) if prefix else all(p == "**" for p in parts)
    if not parts:
        return False
    hidden = names[0].startswith(".")  # like glob: a wildcard never matches a leading dot
    if parts[0] == "**":
        return (_matches(parts[1:], names, prefix=prefix)
                or (not hidden and _matches(parts, names[1:], prefix=prefix)))
    return (fnmatch.fnmatch(names[0], parts[0]) and (not hidden or parts[0].startswith("."))
            and _matches(parts[1:], names[1:], prefix=prefix))


def _is_link(item: os.DirEntry) -> bool:
    try:
        return item.is_symlink()
    except OSError:
        return True  # unknown: take the careful path


def _plain_file(item: os.DirEntry) -> bool:
    """A regular file by the directory listing itself (not a link, pipe or device)."""
    try:
        return item.is_file(follow_symlinks=False)
    except OSError:
        return False


def _fixes_extension(parts: Sequence[str]) -> bool:
    """True for a pattern such as ``*.jp2`` whose last part names the extension itself."""
    last = parts[-1] if parts else "**"
    return "." in last and not is_pattern(last.rsplit(".", 1)[1])


@dataclass
class _Walker:
    extensions: tuple[str, ...]
    max_files: int
    max_entries: int
    max_depth: int
    max_bytes: Optional[int]
    skip_hidden: bool
    result: WalkResult = field(default_factory=WalkResult)
    seen_dirs: dict[tuple[int, int], str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    entries: int = 0
    stopped: bool = False

    # -- roots ------------------------------------------------------------------------------
    def root(self, root: str) -> None:
        if is_pattern(root) and not os.path.lexists(root):  # '/data/[2020]' may be a name
            base, parts = _split_pattern(root)
            if not os.path.isdir(base or os.curdir):
                self.result.missing.append(root)
                return
            self.folder(base, parts)
            return
        if not os.path.lexists(root):
            self.result.missing.append(root)
            return
        st = self.look(root)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            self.folder(root, None)
        else:
            self.take(root, st)

    def folder(self, base: str, parts: Optional[list[str]]) -> None:
        st = self.look(base or os.curdir)
        if st is None or not self.enter(base or os.curdir, st):
            return
        self.search(base, (), parts)

    # -- the walk ---------------------------------------------------------------------------
    def search(self, folder: str, rel: tuple[str, ...], parts: Optional[list[str]]) -> None:
        """Depth first, names sorted; recursion depth is bounded by ``max_depth``."""
        try:
            with os.scandir(folder or os.curdir) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as err:
            self.skip(folder, _link_problem(folder, err))
            return
        for item in items:
            if self.stopped:
                return
            self.entries += 1
            if self.entries > self.max_entries:
                self.limit(f"The search stopped after {self.max_entries} entries (last in "
                           f"'{folder or os.curdir}'); files beyond were not taken.")
                return
            if self.skip_hidden and item.name.startswith("."):
                continue
            path = os.path.join(folder, item.name) if folder else item.name
            self.entry(item, path, rel + (item.name,), parts)

    def entry(self, item: os.DirEntry, path: str, rel: tuple[str, ...],
              parts: Optional[list[str]]) -> None:
        wanted = ((parts is None or _matches(parts, rel))
                  and (not self.extensions or path.lower().endswith(self.extensions)
                       or (parts is not None and _fixes_extension(parts))))
        link = _is_link(item)
        if not link and _plain_file(item):  # the directory listing says so: no stat needed
            if wanted and self.max_bytes is None:
                self.add(path)
            if not wanted or self.max_bytes is None:
                return
        could_hold = parts is None or _matches(parts, rel, prefix=True)
        if not wanted and not could_hold:
            return
        st = self.look(path, report=wanted or link)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            if could_hold and len(rel) > self.max_depth:
                self.skip(path, f"deeper than {self.max_depth} folder levels")
            elif could_hold and self.enter(path, st):
                self.search(path, rel, parts)
        elif wanted:
            self.take(path, st)

    def enter(self, path: str, st: os.stat_result) -> bool:
        key = (st.st_dev, st.st_ino)
        first = self.seen_dirs.get(key)
        if first is not None:
            how = "a link back to" if os.path.islink(path) else "the same folder as"
            self.skip(path, f"{how} '{first}', already searched")
            return False
        self.seen_dirs[key] = path or os.curdir
        return True

    def take(self, path: str, st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            self.skip(path, _kind(st.st_mode))
            return
        if self.max_bytes is not None and st.st_size > self.max_bytes:
            self.skip(path, f"larger than {self.max_bytes // 1_000_000} MB")
            return
        self.add(path)

    def add(self, path: str) -> None:
        if path in self.files:
            return
        if len(self.files) >= self.max_files:
            self.limit(f"More than {self.max_files} files were found; only the first "
                       f"{self.max_files} were taken ('{path}' and later ones were not).")
            return
        self.files.add(path)

    # -- reports ----------------------------------------------------------------------------
    def look(self, path: str, *, report: bool = True) -> Optional[os.stat_result]:
        try:
            return os.stat(path)
        except OSError as err:
            if report:
                self.skip(path, _link_problem(path, err))
            return None
        except ValueError:  # an embedded NUL byte
            if report:
                self.skip(path, "the name cannot be used")
            return None

    def skip(self, path: str, reason: str) -> None:
        if len(self.result.skipped) < MAX_SKIPS:
            self.result.skipped.append(Skip(path, reason))
        else:
            self.result.more_skips += 1

    def limit(self, message: str) -> None:
        self.result.limits.append(message)
        self.stopped = True

    def finish(self) -> WalkResult:
        self.result.files = sorted(self.files)
        return self.result
