"""Issue 23, "hangs and aborts": hostile entries in the folders EO Lens searches, through
Processing. A named pipe (FIFO) named like a document or a raster, a dangling link, a link that
loops on itself and a loop of folder links are skipped and named in a warning; the run completes
with the good files. FIFO cases carry a timeout, so a regression fails instead of hanging."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from test_hostile_inputs import assert_plain, run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and POSIX links")

NOTE = ("The harbour of Nassau has three piers; cargo ships dock at the eastern pier and the "
        "ferries at the western one.")
QUESTION = "How many piers does the harbour have?"


def regular_checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``folder``, links and pipes never followed."""
    out = {}
    for root, _dirs, files in os.walk(folder):  # followlinks=False: the loops are not entered
        for name in files:
            path = Path(root) / name
            if stat.S_ISREG(path.lstat().st_mode):
                out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def names(folder: Path) -> list[str]:
    """Every entry under ``folder`` (hidden ones included), links not followed."""
    return sorted(str(Path(r, n).relative_to(folder)) for r, ds, fs in os.walk(folder)
                  for n in ds + fs)


def hostile(folder: Path, ext: str) -> dict[str, Path]:
    """A FIFO, a dangling link, a self-looping link and a loop of folder links in ``folder``."""
    sub = folder / "sub"
    sub.mkdir(exist_ok=True)
    made = {"fifo": folder / f"pipe{ext}", "dangling": folder / f"dangling{ext}",
            "self": folder / f"self{ext}", "loop": sub / "back_up"}
    os.mkfifo(made["fifo"])
    os.symlink(folder / f"gone{ext}", made["dangling"])
    os.symlink(made["self"], made["self"])
    os.symlink(folder, made["loop"])
    return made


def assert_named(log: list[str], path: Path, reason: str) -> None:
    hits = [w for w in log if f"'{path}'" in w]
    assert hits, (path, log)
    assert any(reason in w for w in hits), (reason, hits)
    for w in hits:
        assert_plain(w, str(path))


# --- DOCUMENTS of eolens:ask / eolens:caption ---------------------------------------------

@pytest.fixture
def hostile_documents(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "harbour.md").write_text("# Harbour\n\n" + NOTE + "\n", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text("Forest roads are sandy.\n", encoding="utf-8")
    return folder, hostile(folder, ".txt")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("alg,family", [("ask", "qwen3_vl"), ("caption", "florence2")])
def test_documents_with_a_fifo_and_bad_links_complete_with_warnings(
        provider, sample_dir, tiny_models, hostile_documents, tmp_path, alg, family):
    folder, bad = hostile_documents
    before, listed = regular_checksums(folder), names(folder)
    out = tmp_path / "out"
    out.mkdir()
    params = {"INPUT": str(sample_dir / "OSBS_029.tif"), "MODEL": str(tiny_models.path(family)),
              "MAX_SIDE": 96, "DEVICE": "cpu", "DOCUMENTS": str(folder),
              "OUTPUT": str(out / "answer.gpkg"), "OUTPUT_TEXT": str(out / "answer.json")}
    if alg == "ask":
        params["PROMPT"] = QUESTION
    res, err, fb = run(f"eolens:{alg}", params)
    assert res is not None and not err, err
    assert_named(fb.log, bad["fifo"], "named pipe")
    assert_named(fb.log, bad["dangling"], "does not exist")
    assert_named(fb.log, bad["self"], "loops back on itself")
    assert_named(fb.log, bad["loop"], "already searched")
    if alg == "ask":  # the good documents were still read and ranked
        assert f"{folder / 'harbour.md'}" in (out / "answer.json").read_text(encoding="utf-8")
    assert regular_checksums(folder) == before and names(folder) == listed
    assert sorted(p.name for p in out.iterdir()) == ["answer.gpkg", "answer.json"]


def test_documents_naming_a_file_says_it_needs_a_folder(provider, sample_dir, tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("not a folder", encoding="utf-8")
    res, err, _ = run("eolens:ask", {"INPUT": str(sample_dir / "OSBS_029.tif"), "PROMPT": "x",
                                     "DOCUMENTS": str(afile), "OUTPUT": str(tmp_path / "a.gpkg")})
    assert res is None
    assert_plain(err, "DOCUMENTS", str(afile), "is a file", "needs a folder")
    assert "does not exist" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile.txt"]


@pytest.mark.timeout(120)
def test_documents_index_warns_about_every_skip_without_processing(hostile_documents):
    from eolens.inference.grounding.documents import DocumentIndex, index_folder

    folder, bad = hostile_documents
    index = DocumentIndex.from_folder(str(folder))
    assert sorted({c.path for c in index.chunks}) == [str(folder / "harbour.md"),
                                                      str(folder / "sub" / "notes.txt")]
    for path in bad.values():
        assert any(f"'{path}'" in w for w in index.warnings), (path, index.warnings)
    assert index_folder(str(folder)).warnings == index.warnings


# --- FOLDER of eolens:index ---------------------------------------------------------------

@pytest.fixture
def hostile_archive(tmp_path, sample_dir):
    root = tmp_path / "archive"
    (root / "a").mkdir(parents=True)
    good = [root / "rgb.tif", root / "a" / "rgb_copy.tif"]
    for path in good:
        shutil.copy(sample_dir / "rasterio_RGB.byte.tif", path)
    bad = hostile(root, ".tif")
    os.symlink(root / "a", root / "a_again")  # a second way into a folder already searched
    bad["again"] = root / "a_again"
    return root, good, bad


@pytest.mark.timeout(300)
@pytest.mark.parametrize("pattern", [False, True])
def test_index_folder_with_a_fifo_and_link_loops_completes(provider, tiny_models, hostile_archive,
                                                           tmp_path, pattern):
    from eolens.inference.archive.store import IndexStore

    root, good, bad = hostile_archive
    before, listed = regular_checksums(root), names(root)
    idx = tmp_path / "out" / "archive.gpkg"
    idx.parent.mkdir()
    folder = str(root / "**" / "*.tif") if pattern else str(root)
    res, err, fb = run("eolens:index", {
        "FOLDER": folder, "INDEX": str(idx), "MODEL": str(tiny_models.path("openclip")),
        "TILE_SIZE": 224, "OVERLAP": 0, "DEVICE": "cpu"})
    assert res is not None and not err, err
    assert res["ADDED"] == 2 and res["FAILED"] == 0
    with IndexStore(str(idx), create=False) as store:
        assert sorted(store.files()) == sorted(str(p) for p in good)
    assert_named(fb.log, bad["fifo"], "named pipe")
    assert_named(fb.log, bad["dangling"], "does not exist")
    assert_named(fb.log, bad["self"], "loops back on itself")
    assert_named(fb.log, bad["loop"], "already searched")
    assert_named(fb.log, bad["again"], "already searched")
    assert all(str(p) in res["TEXT"] for p in bad.values()), res["TEXT"]
    assert regular_checksums(root) == before and names(root) == listed
    assert sorted(p.name for p in idx.parent.iterdir()) == ["archive.gpkg"]


@pytest.mark.timeout(120)
def test_index_folder_of_only_hostile_entries_is_refused_by_name(provider, tiny_models, tmp_path):
    root = tmp_path / "archive"
    root.mkdir()
    bad = hostile(root, ".tif")
    res, err, _ = run("eolens:index", {
        "FOLDER": str(root), "INDEX": str(tmp_path / "archive.gpkg"),
        "MODEL": str(tiny_models.path("openclip")), "DEVICE": "cpu"})
    assert res is None
    assert_plain(err, "No rasters to index", str(bad["fifo"]), "named pipe")
    assert not (tmp_path / "archive.gpkg").exists()
