"""Issue 12, "nothing lost, nothing hangs": hostile inputs through Processing.

Every hostile input is built here from ../shared/data. Each case checks the outcome (refused or
done), that the message names the file or parameter the analyst gave and holds no temporary name
and no Python exception class name, that every file that existed before is byte-identical after
(or replaced only where that is the point), and that nothing is left in the output folder.
A few cases run through the real ``qgis_process`` (tools/qgis_process.sh).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import rasterio
from conftest import REPO
from osgeo import gdal, ogr, osr
from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback

NAIP = "change/naip_nd_2009_2020"
RGB = "geotiff/rasterio_RGB.byte.tif"          # 791 x 718, 3 bands, EPSG:32618
LANDSAT = "geotiff/landsat8_LC80200392015216LGN00_B1-B7.tif"  # 7 bands
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|Traceback")
TEMP_NAME = re.compile(r"\.eolens-|\.part\b|/tmp/processing_")
# CPU seconds of this process (the run is in-process), not wall time: a guard against reading a
# huge file, which neighbours on a shared machine must not trip; pytest-timeout catches hangs.
HUGE_SECONDS = 10.0


class Feedback(QgsProcessingFeedback):
    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    def reportError(self, error, fatalError=False):
        self.log.append(error)
        super().reportError(error, fatalError)

    def pushWarning(self, warning):
        self.log.append(warning)
        super().pushWarning(warning)

    def pushInfo(self, info):
        self.log.append(info)
        super().pushInfo(info)




def run(alg: str, params: dict) -> tuple[dict | None, str, Feedback]:
    """(results or None, error message or '', feedback)."""
    import processing

    fb = Feedback()
    try:
        return processing.run(alg, params, feedback=fb), "", fb
    except QgsProcessingException as err:
        return None, str(err), fb


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Checksums of every file under ``folder`` (hidden ones included)."""
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_plain(message: str, *names: str) -> None:
    assert message, "expected a message"
    for name in names:
        assert name in message, (name, message)
    assert not EXCEPTION_NAME.search(message), message
    assert not TEMP_NAME.search(message), message


# --- hostile inputs, built once -----------------------------------------------------------

def _gdal_copy(src: Path, dst: Path, **kwargs) -> Path:
    gdal.Translate(str(dst), str(src), **kwargs)
    return dst


def make_huge(path: Path) -> Path:
    """A sparse GeoTIFF whose header claims 10^6 x 10^6 pixels, with no overviews (~1 MB)."""
    ds = gdal.GetDriverByName("GTiff").Create(
        str(path), 10**6, 10**6, 3, gdal.GDT_Byte,
        ["SPARSE_OK=TRUE", "TILED=YES", "BLOCKXSIZE=4096", "BLOCKYSIZE=4096", "BIGTIFF=YES",
         "COMPRESS=DEFLATE"])
    ds.SetGeoTransform((500000.0, 0.01, 0.0, 5000000.0, 0.0, -0.01))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32618)
    ds.SetProjection(srs.ExportToWkt())
    ds = None
    return path


def make_geokey(src: Path, path: Path) -> Path:
    """The RGB scene with ProjectedCSTypeGeoKey 32618 patched to 32799 (absent from PROJ)."""
    _gdal_copy(src, path)
    data = bytearray(path.read_bytes())
    needle = struct.pack("<HHHH", 3072, 0, 1, 32618)
    at = data.find(needle)
    assert at > 0, "GeoKey not found"
    data[at:at + 8] = struct.pack("<HHHH", 3072, 0, 1, 32799)
    path.write_bytes(bytes(data))
    return path


def make_antimeridian(src: Path, path: Path) -> Path:
    """The RGB pixels in UTM zone 1N (EPSG:32601), 130 m pixels, from 179.5 E to 179.4 W."""
    with rasterio.open(src) as ds:
        data = ds.read()
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": 3,
               "dtype": "uint8", "crs": "EPSG:32601",
               "transform": rasterio.Affine(130.0, 0, 110000.0, 0, -130.0, 80000.0)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def make_lonlat_split(src: Path, path: Path) -> Path:
    """The RGB pixels over the whole globe in EPSG:4326 (-180..180): split at the antimeridian."""
    with rasterio.open(src) as ds:
        data = ds.read()
    h, w = data.shape[1:]
    profile = {"driver": "GTiff", "width": w, "height": h, "count": 3, "dtype": "uint8",
               "crs": "EPSG:4326", "transform": rasterio.Affine(360.0 / w, 0, -180.0, 0, -180.0 / h, 90.0)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture(scope="module")
def bad(shared_data, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    rgb = shared_data / RGB
    files = {"rgb": root / "scene.tif", "landsat": shared_data / LANDSAT}
    shutil.copyfile(rgb, files["rgb"])
    a, b = sorted((shared_data / NAIP).glob("*.tif"))
    files["a"], files["b"] = root / "before.tif", root / "after.tif"
    shutil.copyfile(a, files["a"])
    shutil.copyfile(b, files["b"])
    (root / "zero.tif").write_bytes(b"")
    files["zero"] = root / "zero.tif"
    files["truncated"] = root / "truncated.tif"
    files["truncated"].write_bytes(rgb.read_bytes()[:3000])
    files["text"] = root / "notes.tif"
    files["text"].write_text("this is not a raster\n" * 50, encoding="utf-8")
    files["missing"] = root / "missing.tif"
    files["folder"] = root / "folder.tif"
    files["folder"].mkdir()
    gcps = [gdal.GCP(101985.0, 2826915.0, 0, 0, 0), gdal.GCP(339315.0, 2826915.0, 0, 791, 0),
            gdal.GCP(101985.0, 2611485.0, 0, 0, 718)]
    files["gcp"] = _gdal_copy(rgb, root / "gcp_only.tif", GCPs=gcps, outputSRS="EPSG:32618")
    files["geokey"] = make_geokey(rgb, root / "geokey.tif")
    files["huge"] = make_huge(root / "huge.tif")
    files["huge_b"] = make_huge(root / "huge_b.tif")
    files["pacific"] = make_antimeridian(rgb, root / "pacific_utm1.tif")
    files["globe"] = make_lonlat_split(rgb, root / "globe.tif")
    return files


@pytest.fixture
def outdir(tmp_path) -> Path:
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def florence(tiny_models) -> str:
    return str(tiny_models.path("florence2"))


@pytest.fixture(scope="module")
def clip(tiny_models) -> str:
    return str(tiny_models.path("openclip"))


def change_params(bad, outdir: Path, **extra) -> dict:
    return {"INPUT": str(bad["a"]), "INPUT_B": str(bad["b"]), "METHOD": "spectral",
            "OUTPUT": str(outdir / "change.gpkg"), "OUTPUT_RASTER": str(outdir / "heat.tif"),
            "OUTPUT_TEXT": str(outdir / "change.txt"), **extra}


# --- refused before anything runs: (algorithm params, words the message must hold) -----------

@dataclass
class Refused:
    id: str
    params: Callable[[dict, Path], tuple[str, dict]]
    names: Callable[[dict], tuple[str, ...]]
    beyond_issue: bool = False


def _chg(**extra):
    return lambda bad, out: ("eolens:change", change_params(bad, out, **{
        k: (v(bad, out) if callable(v) else v) for k, v in extra.items()}))


REFUSED = [
    # files lost or damaged
    Refused("output-raster-is-input", _chg(OUTPUT_RASTER=lambda b, o: str(b["a"])),
            lambda b: ("OUTPUT_RASTER", str(b["a"]), "INPUT")),
    Refused("output-raster-is-input-b", _chg(OUTPUT_RASTER=lambda b, o: str(b["b"])),
            lambda b: ("OUTPUT_RASTER", "INPUT_B")),
    Refused("output-is-input-through-dotdot", _chg(
        OUTPUT_RASTER=lambda b, o: os.path.join(str(b["a"].parent), "..", b["a"].parent.name,
                                                b["a"].name)),
        lambda b: ("OUTPUT_RASTER", "INPUT"), beyond_issue=True),
    Refused("output-is-input-through-symlink", _chg(OUTPUT_RASTER=lambda b, o: _link(b["a"], o)),
            lambda b: ("OUTPUT_RASTER", "INPUT"), beyond_issue=True),
    Refused("output-folder-read-only", _chg(OUTPUT_RASTER="/proc/sys/heat.tif"),
            lambda b: ("OUTPUT_RASTER", "/proc/sys", "permission")),
    Refused("output-text-is-a-folder", _chg(OUTPUT_TEXT=lambda b, o: _folder(o, "notes.txt")),
            lambda b: ("OUTPUT_TEXT", "notes.txt", "folder")),
    Refused("output-folder-missing", _chg(OUTPUT=lambda b, o: str(o / "nowhere" / "c.gpkg")),
            lambda b: ("OUTPUT", "nowhere", "does not exist"), beyond_issue=True),
    # unclear inputs: the plugin's own file check
    Refused("input-zero-bytes", _chg(INPUT=lambda b, o: str(b["zero"])),
            lambda b: ("INPUT", str(b["zero"]), "empty (0 bytes)")),
    Refused("input-text-renamed-tif", _chg(INPUT=lambda b, o: str(b["text"])),
            lambda b: ("INPUT", str(b["text"]), "not a raster")),
    Refused("input-missing", _chg(INPUT=lambda b, o: str(b["missing"])),
            lambda b: ("INPUT", str(b["missing"]), "does not exist")),
    Refused("input-is-a-folder", _chg(INPUT=lambda b, o: str(b["folder"])),
            lambda b: ("INPUT", str(b["folder"]), "folder")),
    Refused("input-b-zero-bytes", _chg(INPUT_B=lambda b, o: str(b["zero"])),
            lambda b: ("INPUT_B", str(b["zero"]), "empty"), beyond_issue=True),
    Refused("input-truncated", _chg(INPUT=lambda b, o: str(b["truncated"])),
            lambda b: (str(b["truncated"]),)),
    Refused("input-gcp-only", _chg(INPUT=lambda b, o: str(b["gcp"]), INPUT_B=lambda b, o: str(b["gcp"])),
            lambda b: ("INPUT", str(b["gcp"]), "ground control points", "warp")),
    Refused("bands-comma-one-missing", _chg(INPUT=lambda b, o: str(b["landsat"]),
                                            INPUT_B=lambda b, o: str(b["landsat"]), BANDS="4,3,9"),
            lambda b: ("BANDS", "band 9", "7 band")),
    Refused("extent-zero-width", _chg(EXTENT="486000,486000,5206000,5208000 [EPSG:26914]"),
            lambda b: ("EXTENT", "zero width")),
    Refused("extent-nan", _chg(EXTENT="nan,486500,5206000,5208000 [EPSG:26914]"),
            lambda b: ("EXTENT",), beyond_issue=True),
    Refused("extent-antimeridian-split-layer", _chg(
        INPUT=lambda b, o: str(b["globe"]), INPUT_B=lambda b, o: str(b["globe"]),
        EXTENT="179.7,-179.7,0.1,0.6 [EPSG:4326]"),
        lambda b: ("EXTENT", "antimeridian", str(b["globe"])), beyond_issue=True),
    Refused("threshold-nan", _chg(THRESHOLD="nan"), lambda b: ("THRESHOLD", "finite")),
    Refused("threshold-inf", _chg(THRESHOLD="inf"), lambda b: ("THRESHOLD",), beyond_issue=True),
    Refused("top-k-zero", lambda b, o: ("eolens:search", {
        "INPUT": str(b["rgb"]), "PROMPT": "ships", "MODEL": "georsclip-b32", "TOP_K": 0,
        "OUTPUT": str(o / "top.gpkg"), "OUTPUT_RASTER": str(o / "sim.tif")}),
        lambda b: ("TOP_K",)),
    Refused("overlap-not-below-tile", lambda b, o: ("eolens:search", {
        "INPUT": str(b["rgb"]), "PROMPT": "ships", "MODEL": "georsclip-b32", "TILE_SIZE": 64,
        "OVERLAP": 64, "OUTPUT": str(o / "top.gpkg")}), lambda b: ("OVERLAP", "TILE_SIZE"),
        beyond_issue=True),
    Refused("prompt-task-token", lambda b, o: ("eolens:detect", {
        "INPUT": str(b["rgb"]), "PROMPT": "<OD> ships", "MODEL": "florence-2-base",
        "OUTPUT": str(o / "boxes.gpkg")}), lambda b: ("PROMPT", "<OD>")),
    Refused("prompt-10kb", lambda b, o: ("eolens:segment", {
        "INPUT": str(b["rgb"]), "PROMPT": "ships " * 2000, "MODEL": "florence-2-base",
        "OUTPUT": str(o / "seg.gpkg")}), lambda b: ("PROMPT", "too long")),
]


def _link(target: Path, outdir: Path) -> str:
    link = outdir / "alias.tif"
    link.symlink_to(target)
    return str(link)


def _folder(outdir: Path, name: str) -> str:
    (outdir / name).mkdir()
    return str(outdir / name)


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_refused_before_anything_runs(case, provider, bad, outdir):
    alg, params = case.params(bad, outdir)
    inputs_before = {k: sha(p) for k, p in bad.items() if p.is_file()}
    out_before = snapshot(outdir)
    started = time.process_time()
    res, message, _ = run(alg, params)
    assert res is None, f"{case.id} ran: {res}"
    assert time.process_time() - started < HUGE_SECONDS
    assert_plain(message, *case.names(bad))
    assert {k: sha(p) for k, p in bad.items() if p.is_file()} == inputs_before
    assert snapshot(outdir) == out_before, "the output folder changed"


# --- the 10^6 x 10^6 header: a named error in under 10 s for five algorithms ----------------

HUGE = ["eolens:caption", "eolens:detect", "eolens:segment", "eolens:change", "eolens:search"]


@pytest.mark.parametrize("alg", HUGE)
def test_huge_header_is_a_named_error_in_seconds(alg, provider, bad, outdir, florence, clip):
    params = {"INPUT": str(bad["huge"]), "OUTPUT": str(outdir / "out.gpkg")}
    params.update({
        "eolens:caption": {"MODEL": florence},
        "eolens:detect": {"MODEL": florence, "PROMPT": "ships"},
        "eolens:segment": {"MODEL": florence, "PROMPT": "ships", "OUTPUT_RASTER": str(outdir / "m.tif")},
        "eolens:change": {"INPUT_B": str(bad["huge_b"]), "OUTPUT_RASTER": str(outdir / "h.tif")},
        "eolens:search": {"MODEL": clip, "PROMPT": "ships", "OUTPUT_RASTER": str(outdir / "s.tif")},
    }[alg])
    started = time.process_time()
    res, message, _ = run(alg, params)
    elapsed = time.process_time() - started
    assert res is None
    assert elapsed < HUGE_SECONDS, f"{alg} took {elapsed:.1f} CPU-s"
    assert_plain(message, str(bad["huge"]), "1,000,000 x 1,000,000")
    assert "overviews" in message or "tiles" in message
    assert snapshot(outdir) == {}


# --- runs that succeed: nothing lost, the right area, the log says what was replaced -------

def _gpkg_with_roads(path: Path) -> None:
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(26914)
    lyr = ds.CreateLayer("roads", srs, ogr.wkbLineString)
    lyr.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    for i in range(3):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("name", f"road {i}")
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"LINESTRING (486000 {5206000 + i}, 487000 5207000)"))
        lyr.CreateFeature(f)
    ds = None


def _layers(path: Path) -> dict[str, int]:
    ds = ogr.Open(str(path))
    return {ds.GetLayer(i).GetName(): ds.GetLayer(i).GetFeatureCount() for i in range(ds.GetLayerCount())}


def test_gpkg_layername_keeps_the_other_layers(provider, bad, outdir):
    project = outdir / "project.gpkg"
    _gpkg_with_roads(project)
    params = change_params(bad, outdir, OUTPUT=f"{project}|layername=change")
    params.pop("OUTPUT_RASTER"), params.pop("OUTPUT_TEXT")
    res, message, fb = run("eolens:change", params)
    assert res is not None, message
    layers = _layers(project)
    assert layers["roads"] == 3 and "change" in layers and layers["change"] > 0
    assert any("roads" in line and "kept" in line for line in fb.log), fb.log
    res, message, fb = run("eolens:change", params)  # again: only "change" is replaced
    assert res is not None, message
    assert _layers(project) == layers
    assert any("Replacing layer 'change'" in line for line in fb.log), fb.log
    assert sorted(p.name for p in outdir.iterdir()) == ["project.gpkg"]


def test_replaced_outputs_are_named_in_the_log(provider, bad, outdir):
    params = change_params(bad, outdir)
    res, message, fb = run("eolens:change", params)
    assert res is not None, message
    assert not any("Replaced" in line for line in fb.log)
    res, message, fb = run("eolens:change", params)
    assert res is not None, message
    replaced = [line for line in fb.log if line.startswith("Replaced the existing output")]
    assert sorted(replaced) == sorted(f"Replaced the existing output '{outdir / n}'." for n in
                                      ("change.gpkg", "heat.tif", "change.txt"))
    assert sorted(p.name for p in outdir.iterdir()) == ["change.gpkg", "change.txt", "heat.tif"]


def test_outputs_are_committed_together_or_not_at_all(provider, bad, outdir, monkeypatch):
    """The raster fails after the vector and the text were written: the old ones stay."""
    from eolens.inference.io import export

    (outdir / "change.gpkg").write_bytes(b"old vector")
    (outdir / "change.txt").write_text("old text", encoding="utf-8")
    before = snapshot(outdir)

    def broken(*args, **kwargs):
        raise export.EOLensError(f"Could not write '{args[3]}': disk full.")

    monkeypatch.setattr(export, "write_raster", broken)
    res, message, _ = run("eolens:change", change_params(bad, outdir))
    assert res is None
    assert_plain(message, str(outdir / "heat.tif"), "disk full")
    assert snapshot(outdir) == before


def test_a_failed_commit_restores_what_was_there(tmp_path, monkeypatch):
    """A rename failing half-way through the commit puts every replaced file back."""
    from eolens.inference.io import staging

    old = {n: f"old {n}".encode() for n in ("a.txt", "b.txt")}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    real_replace = os.replace
    failed = []

    def flaky(src, dst):
        if str(dst).endswith("b.txt") and ".eolens-" in str(src) and not failed:
            failed.append(dst)
            raise PermissionError(13, "Permission denied", str(dst))
        return real_replace(src, dst)

    with staging.OutputSet() as outs:
        for name in old:
            Path(outs.stage(str(tmp_path / name))).write_text("new", encoding="utf-8")
        monkeypatch.setattr(staging.os, "replace", flaky)
        with pytest.raises(staging.EOLensError) as err:
            outs.commit()
    assert_plain(str(err.value), "b.txt", "no output was changed")
    assert {n: (tmp_path / n).read_bytes() for n in old} == old
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(old)


def test_stale_staging_of_a_killed_run_is_cleaned(provider, bad, outdir):
    """A run killed during export leaves its staging folder and a .part; the next run removes
    them (and leaves a live run's staging alone)."""
    code = ("import os, sys; sys.path.insert(0, sys.argv[2]);"
            "from eolens.inference.io.staging import OutputSet;"
            "o = OutputSet(); p = o.stage(sys.argv[1]); open(p, 'w').write('half');"
            "os._exit(9)")
    subprocess.run([sys.executable, "-c", code, str(outdir / "heat.tif"),
                    str(REPO / "build" / "pkgroot")], check=False, timeout=60)
    (outdir / "change.txt.part").write_text("half", encoding="utf-8")
    from eolens.inference.io.staging import OutputSet

    with OutputSet() as live:  # this process is alive: its staging must survive
        live.stage(str(outdir / "other.tif"))
        stale = [p.name for p in outdir.iterdir() if p.name.startswith(".eolens-")]
        assert len(stale) == 2
        res, message, fb = run("eolens:change", change_params(bad, outdir))
        assert res is not None, message
        left = sorted(p.name for p in outdir.iterdir())
        assert [n for n in left if n.startswith(".eolens-")] == [
            os.path.basename(live._stages[0].folder)]
    assert sorted(p.name for p in outdir.iterdir()) == ["change.gpkg", "change.txt", "heat.tif"]
    assert sum("interrupted run" in line for line in fb.log) == 2


def test_bands_in_comma_form_are_used(provider, bad, outdir):
    params = change_params(bad, outdir, INPUT=str(bad["landsat"]), INPUT_B=str(bad["landsat"]),
                           BANDS="4,3,2", MAX_SIDE=256)
    res, message, _ = run("eolens:change", params)
    assert res is not None, message
    from eolens.plugin.processing.algorithms.change import ChangeAlgorithm

    alg = QgsApplication.processingRegistry().createAlgorithmById("eolens:change")
    assert isinstance(alg, ChangeAlgorithm)
    from qgis.core import QgsProcessingContext

    src = alg._source(params, QgsProcessingContext(), "INPUT")
    assert src.bands == (4, 3, 2)


def test_antimeridian_extent_is_the_right_area(provider, bad, outdir):
    """179.7 E .. 179.7 W over a UTM 1N raster: the 67 km between them, not the whole layer
    (QGIS alone swaps the corners into 179.7 W .. 179.7 E, the whole width)."""
    src = str(bad["pacific"])
    params = change_params(bad, outdir, INPUT=src, INPUT_B=src, MAX_SIDE=0,
                           EXTENT="179.7,-179.7,0.2,0.6 [EPSG:4326]")
    res, message, _ = run("eolens:change", params)
    assert res is not None, message
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32601", always_xy=True)
    west, _ = to_utm.transform(179.7, 0.4)
    east, _ = to_utm.transform(-179.7, 0.4)
    with rasterio.open(res["OUTPUT_RASTER"]) as ds, rasterio.open(src) as whole:
        assert whole.bounds.left < west < east < whole.bounds.right
        assert ds.width < whole.width - 200
        assert ds.bounds.left == pytest.approx(west, abs=1500)
        assert ds.bounds.right == pytest.approx(east, abs=1500)


def test_unknown_crs_geokey_is_warned_loudly(provider, bad, outdir):
    src = str(bad["geokey"])
    res, message, fb = run("eolens:change", change_params(bad, outdir, INPUT=src, INPUT_B=src))
    assert res is not None, message
    warned = [line for line in fb.log if "not a known coordinate system" in line]
    assert warned and src in warned[0] and "INPUT" in warned[0]


def test_max_side_bounds_the_read_of_date_b(provider, bad, outdir, monkeypatch):
    from eolens.inference.io import coregister

    shapes = []
    real = coregister.read_window

    def spy(ds, path, window, shape, bands):
        shapes.append((path, tuple(shape)))
        return real(ds, path, window, shape, bands)

    monkeypatch.setattr(coregister, "read_window", spy)
    res, message, _ = run("eolens:change", change_params(bad, outdir, MAX_SIDE=300))
    assert res is not None, message
    assert {p for p, _ in shapes} == {str(bad["a"]), str(bad["b"])}
    # B at no finer than A's grid: MAX_SIDE plus the resampling kernel's pad (2 px per side)
    assert all(max(s) <= 300 + 2 * coregister._PAD for _, s in shapes), shapes
    assert max(max(s) for p, s in shapes if p == str(bad["a"])) <= 300


def test_write_vector_accepts_an_epsg_string(tmp_path):
    from eolens.inference.io.export import write_vector
    from eolens.inference.io.georef import GeoFeature
    from shapely.geometry import Point

    rep = write_vector([GeoFeature(Point(10, 50).buffer(1), {"n": 1})], tmp_path / "p.gpkg",
                       "EPSG:4326")
    ds = ogr.Open(rep.path)
    assert ds.GetLayer(0).GetSpatialRef().GetAuthorityCode(None) == "4326"


def test_sam_click_far_outside_is_refused(bad):
    from eolens.inference import actions
    from eolens.inference.errors import InputError

    image = actions.capture(str(bad["rgb"]), max_side=128)
    with pytest.raises(InputError) as err:  # before any model loads: the model name is bogus
        actions.segment_prompts(image, "no-such-sam", points=[(1e9, -1e9)], labels=[1])
    assert_plain(str(err.value), "1e+09", "outside")


def test_top_k_below_one_is_refused_by_the_action(bad):
    from eolens.inference import actions
    from eolens.inference.errors import InputError

    with pytest.raises(InputError) as err:
        actions.search(str(bad["rgb"]), "ships", "no-such-clip", top_k=-1)
    assert_plain(str(err.value), "TOP_K", "-1")


def test_a_pickled_bin_model_is_refused_without_the_weights_only_hint(provider, bad, outdir,
                                                                      florence, tmp_path):
    """A .bin that would run code on unpickling: refused, and never 'weights_only=False'."""
    folder = tmp_path / "evil-florence"
    shutil.copytree(florence, folder)
    for st in folder.glob("*.safetensors"):
        st.unlink()
    marker = tmp_path / "pwned"
    (folder / "pytorch_model.bin").write_bytes(_evil_pickle(marker))
    res, message, _ = run("eolens:caption", {"INPUT": str(bad["rgb"]), "MODEL": str(folder),
                                             "DEVICE": "cpu", "OUTPUT": str(outdir / "c.gpkg")})
    assert res is None and not marker.exists()
    assert_plain(message, str(folder), "Refused")
    assert message.count("(") == message.count(")")
    assert "weights_only" not in message.replace("weights_only=True", "")
    assert_plain(message)
    assert snapshot(outdir) == {}


def _evil_pickle(marker: Path) -> bytes:
    import pickle  # nosec B403: builds the hostile file the loader must refuse

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return pickle.dumps({"weight": Evil()})


def test_plain_message_strips_class_names_hints_and_temp_names():
    from eolens.inference.validate import plain_message

    text = ("PermissionError: [Errno 13] Permission denied: '/out/.eolens-stage-h-1-abc/heat.tif'. "
            "Re-running `torch.load` with `weights_only` set to `False` will likely succeed. "
            "In PyTorch 2.6 we changed it. Try weights_only=False if you trust the file.")
    plain = plain_message(text, [("/out/.eolens-stage-h-1-abc/heat.tif", "/out/heat.tif")])
    assert "/out/heat.tif" in plain
    assert_plain(plain, "Permission denied")
    assert "weights_only=False" not in plain


# --- the real qgis_process --------------------------------------------------------------------

@pytest.fixture
def timed_cli(qgis_process):
    """The real qgis_process (conftest), with its wall time."""
    def go(*args: str) -> tuple[subprocess.CompletedProcess, float]:
        started = time.monotonic()
        res = qgis_process(*args, timeout=600)
        return res, time.monotonic() - started

    return go


def _cli(params: dict) -> list[str]:
    return [f"{k}={v}" for k, v in params.items()]


def test_qgis_process_refuses_output_equal_to_input(timed_cli, bad, outdir):
    before = sha(bad["a"])
    res, _ = timed_cli("run", "eolens:change", "--", *_cli(change_params(
        bad, outdir, OUTPUT_RASTER=str(bad["a"]))))
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert "OUTPUT_RASTER" in text and str(bad["a"]) in text and "INPUT" in text
    assert not TEMP_NAME.search(text) and "Traceback" not in text
    assert sha(bad["a"]) == before and snapshot(outdir) == {}


def test_qgis_process_names_a_zero_byte_input(timed_cli, bad, outdir):
    res, _ = timed_cli("run", "eolens:change", "--", *_cli(change_params(
        bad, outdir, INPUT=str(bad["zero"]))))
    text = res.stdout + res.stderr
    assert res.returncode != 0 and "empty (0 bytes)" in text and str(bad["zero"]) in text
    assert snapshot(outdir) == {}


def test_qgis_process_gpkg_layername_keeps_other_layers(timed_cli, bad, outdir):
    project = outdir / "project.gpkg"
    _gpkg_with_roads(project)
    params = change_params(bad, outdir, OUTPUT=f"{project}|layername=change")
    params.pop("OUTPUT_RASTER"), params.pop("OUTPUT_TEXT")
    res, _ = timed_cli("run", "eolens:change", "--", *_cli(params))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    layers = _layers(project)
    assert layers["roads"] == 3 and layers["change"] > 0
    assert sorted(p.name for p in outdir.iterdir()) == ["project.gpkg"]


def test_qgis_process_huge_header_change_ends_quickly(timed_cli, bad, outdir):
    res, elapsed = timed_cli("run", "eolens:change", "--", *_cli(change_params(
        bad, outdir, INPUT=str(bad["huge"]), INPUT_B=str(bad["huge_b"]))))
    text = res.stdout + res.stderr
    assert res.returncode != 0 and "overviews" in text and str(bad["huge"]) in text
    assert elapsed < 60, elapsed  # qgis_process itself starts in several seconds
    assert snapshot(outdir) == {}

