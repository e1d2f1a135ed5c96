"""Issue 23: the one file walker. Regular files only, every folder once, every bad entry a
reported skip, bounded, sorted. FIFO cases carry a timeout: a regression fails, never hangs."""
from __future__ import annotations

import os
import sys

import pytest

from eolens.inference.io.file_walk import open_regular, walk_files

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and POSIX permissions")


def touch(path, text: str = "x") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def reasons(result) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}


@posix_only
@pytest.mark.timeout(120)
def test_a_fifo_is_skipped_and_reported_never_opened(tmp_path):
    good = touch(tmp_path / "a.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    res = walk_files([str(tmp_path)], (".txt",))
    assert res.files == [good]
    assert "named pipe" in reasons(res)[str(tmp_path / "pipe.txt")]
    assert any("pipe.txt" in w and "named pipe" in w for w in res.warnings)
    # named as a root, or matched by a pattern: still skipped
    for roots in ([str(tmp_path / "pipe.txt")], [str(tmp_path / "*.txt")]):
        res = walk_files(roots)
        assert str(tmp_path / "pipe.txt") not in res.files
        assert str(tmp_path / "pipe.txt") in reasons(res)


@posix_only
@pytest.mark.timeout(120)
def test_open_regular_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(OSError):
        open_regular(str(tmp_path / "pipe.txt"))
    with open_regular(touch(tmp_path / "a.txt", "hello")) as fh:
        assert fh.read() == b"hello"


@posix_only
@pytest.mark.timeout(120)
def test_a_loop_of_folder_links_ends_and_is_reported(tmp_path):
    root = tmp_path / "data"
    good = touch(root / "a" / "x.jp2")
    os.symlink(root, root / "a" / "up")          # a/up -> data: a loop
    os.symlink(root / "a", root / "again")       # a second way into a
    for pattern in (str(root), str(root / "**" / "*.jp2"), str(root / "**")):
        res = walk_files([pattern], (".jp2",))
        assert res.files == [good], pattern
        why = reasons(res)
        assert "already searched" in why[str(root / "a" / "up")]
        assert "already searched" in why[str(root / "again")]


@posix_only
def test_dangling_and_self_looping_links_are_reported(tmp_path):
    good = touch(tmp_path / "a.tif")
    os.symlink(tmp_path / "gone.tif", tmp_path / "dangling.tif")
    os.symlink(tmp_path / "self.tif", tmp_path / "self.tif")
    res = walk_files([str(tmp_path)], (".tif",))
    assert res.files == [good]
    why = reasons(res)
    assert "does not exist" in why[str(tmp_path / "dangling.tif")]
    assert "gone.tif" in why[str(tmp_path / "dangling.tif")]
    assert "loops" in why[str(tmp_path / "self.tif")]
    # given directly as roots, the same
    res = walk_files([str(tmp_path / "dangling.tif"), str(tmp_path / "self.tif")])
    assert res.files == [] and len(res.skipped) == 2 and not res.missing


@posix_only
def test_a_folder_without_permission_is_reported(tmp_path, monkeypatch):
    good = touch(tmp_path / "a.txt")
    locked = tmp_path / "locked"
    touch(locked / "secret.txt")
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: refuse the folder as the kernel would
        real = os.scandir

        def scandir(path="."):
            if os.fspath(path) == str(locked):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
    try:
        res = walk_files([str(tmp_path)], (".txt",))
    finally:
        locked.chmod(0o755)
    assert res.files == [good]
    assert reasons(res)[str(locked)] == "permission denied"


def test_caps_stop_the_walk_with_a_message(tmp_path):
    for i in range(10):
        touch(tmp_path / f"f{i}.txt")
    res = walk_files([str(tmp_path)], (".txt",), max_files=4)
    assert res.files == [str(tmp_path / f"f{i}.txt") for i in range(4)]
    assert len(res.limits) == 1 and "only the first 4" in res.limits[0]
    res = walk_files([str(tmp_path)], (".txt",), max_entries=3)
    assert len(res.files) == 3 and "stopped after 3 entries" in res.limits[0]
    deep = tmp_path / "d1" / "d2" / "d3"
    touch(deep / "deep.txt")
    res = walk_files([str(tmp_path)], (".txt",), max_depth=2)
    assert str(deep / "deep.txt") not in res.files
    assert "deeper than 2" in reasons(res)[str(deep)]


def test_size_limit_and_hidden_names(tmp_path):
    small = touch(tmp_path / "small.txt")
    touch(tmp_path / "big.txt", "y" * 2_000_001)
    touch(tmp_path / ".hidden.txt")
    touch(tmp_path / ".git" / "x.txt")
    res = walk_files([str(tmp_path)], (".txt",), max_bytes=1_000_000, skip_hidden=True)
    assert res.files == [small]
    assert "larger than 1 MB" in reasons(res)[str(tmp_path / "big.txt")]


def test_double_star_patterns_match_like_glob(tmp_path):
    top = touch(tmp_path / "top.jp2")
    mid = touch(tmp_path / "a" / "mid.jp2")
    low = touch(tmp_path / "a" / "b" / "low.jp2")
    touch(tmp_path / "a" / "b" / "low.tif")
    touch(tmp_path / ".hid" / "h.jp2")
    assert walk_files([str(tmp_path / "**" / "*.jp2")]).files == [low, mid, top]
    assert walk_files([str(tmp_path / "a" / "**" / "*.jp2")]).files == [low, mid]
    assert walk_files([str(tmp_path / "*" / "*.jp2")]).files == [mid]
    assert walk_files([str(tmp_path / "a" / "b" / "low.*")]).files == sorted(
        [low, low[:-3] + "tif"])
    assert walk_files([str(tmp_path / "**")], (".jp2",)).files == [low, mid, top]
    missing = walk_files([str(tmp_path / "nowhere" / "*.jp2"), str(tmp_path / "none.jp2")])
    assert missing.files == [] and len(missing.missing) == 2


def test_order_is_sorted_and_deterministic(tmp_path):
    names = ["b.txt", "a.txt", "c/z.txt", "c/a.txt", "B.txt", "a b.txt"]
    paths = [touch(tmp_path / n) for n in names]
    first = walk_files([str(tmp_path)], (".txt",))
    again = walk_files([str(tmp_path / "c"), str(tmp_path)], (".txt",))
    assert first.files == sorted(paths) == again.files


def test_extensions_filter_folders_and_open_patterns_not_named_ones(tmp_path):
    tif = touch(tmp_path / "a" / "x.tif")
    png = touch(tmp_path / "a" / "x.png")
    touch(tmp_path / "a" / "x.tif.aux.xml")
    assert walk_files([str(tmp_path)], (".tif",)).files == [tif]
    assert walk_files([str(tmp_path / "**")], (".tif",)).files == [tif]
    assert walk_files([str(tmp_path / "**" / "*")], (".tif",)).files == [tif]
    assert walk_files([str(tmp_path / "**" / "*.png")], (".tif",)).files == [png]
    assert walk_files([png], (".tif",)).files == [png]


def test_a_name_with_brackets_is_a_name_and_repeated_double_stars_collapse(tmp_path):
    literal = touch(tmp_path / "[2020]" / "x.tif")
    assert walk_files([str(tmp_path / "[2020]")], (".tif",)).files == [literal]
    deep = touch(tmp_path / "a" / "b" / "c" / "d" / "y.tif")
    res = walk_files([str(tmp_path / "**" / "**" / "**" / "*.tif")])
    assert res.files == sorted([literal, deep])
