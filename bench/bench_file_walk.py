"""The one file walker (issue 23) against the standard library on a tree without hostile entries.

A temporary tree of 200 folders x 50 files (10,000 files, a fifth of them .tif) is searched for
rasters by ``io.file_walk.walk_files`` and by ``os.walk`` (folder walk) / ``glob.glob`` (a
``**/*.tif`` pattern); each is the best of three runs.

- ``file_walk_folder_vs_os_walk``: wall time of the folder walk, EO Lens over ``os.walk``
  (goal <= 3: one ``stat`` per entry, to tell files, pipes and links apart).
- ``file_walk_pattern_vs_glob``: the same for ``root/**/*.tif`` against ``glob.glob(...,
  recursive=True)`` (goal <= 3).
- ``file_walk_entries_per_s``: entries looked at per second by the folder walk.
"""
from __future__ import annotations

import glob
import os
import tempfile
import time
from pathlib import Path

FOLDERS, FILES = 200, 50
EXTS = (".tif", ".tiff", ".jp2", ".img", ".vrt")


def _tree(root: Path) -> None:
    for d in range(FOLDERS):
        folder = root / f"g{d // 20:02d}" / f"d{d:03d}"
        folder.mkdir(parents=True)
        for f in range(FILES):
            (folder / f"f{f:02d}{'.tif' if f % 5 == 0 else '.txt'}").write_bytes(b"")


def _best(fn) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(3):
        start = time.perf_counter()
        count = len(fn())
        times.append(time.perf_counter() - start)
    return min(times), count


def run():
    from eolens.inference.io.file_walk import walk_files

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _tree(root)
        ours, n_ours = _best(lambda: walk_files([str(root)], EXTS).files)
        theirs, n_theirs = _best(lambda: sorted(
            os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs
            if f.lower().endswith(EXTS)))
        assert n_ours == n_theirs == FOLDERS * FILES // 5, (n_ours, n_theirs)
        pattern = str(root / "**" / "*.tif")
        ours_p, n_p = _best(lambda: walk_files([pattern]).files)
        glob_p, n_g = _best(lambda: sorted(glob.glob(pattern, recursive=True)))
        assert n_p == n_g, (n_p, n_g)
    entries = FOLDERS * FILES + FOLDERS + FOLDERS // 20
    return [("file_walk_folder_vs_os_walk", ours / theirs, "x"),
            ("file_walk_pattern_vs_glob", ours_p / glob_p, "x"),
            ("file_walk_entries_per_s", entries / ours, "entries/s")]
