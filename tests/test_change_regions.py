"""Change regions named (CLIP) and captioned (two-image VLM) from chips on streamed runs (issue 14):
the 20,000^2 sparse pair of test_whole_layers through Processing, chip reads on the right pixels,
streamed labels == in-memory labels, and Cancel."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from osgeo import ogr

from eolens.inference.change import regions as change_regions
from eolens.inference.cancel import CancelToken
from eolens.inference.errors import Cancelled
from eolens.inference.io.georef import GeoFeature
from tests import test_whole_layers
from tests.test_whole_layers import AT, NAIP, RES, SQUARE, _map_box, _run

# test_whole_layers' 20,000^2 sparse NAIP pair (a bright square pasted into B), as fixture "pair"
pair = test_whole_layers.big_pair

LABELS = ["new buildings", "water change", "cleared forest"]


def _features(path: str) -> list[dict]:
    ds = ogr.Open(path.split("|")[0])
    layer = ds.GetLayer(0)
    names = [layer.GetLayerDefn().GetFieldDefn(i).GetName()
             for i in range(layer.GetLayerDefn().GetFieldCount())]
    out = []
    for f in layer:
        props = {n: f.GetField(n) for n in names}
        props["_area"] = f.GetGeometryRef().GetArea()
        out.append(props)
    return out


def _naip(shared_data) -> tuple[str, str]:
    a, b = sorted(str(p) for p in (shared_data / NAIP).glob("*.tif"))
    return a, b


# --- Processing on the 20,000^2 pair ----------------------------------------------------------
def test_a_streamed_change_names_every_region_with_clip(provider, pair, tiny_models, tmp_path):
    a, b = pair
    res = _run("eolens:change", {"INPUT": a, "INPUT_B": b, "MAX_SIDE": 0, "TILE_SIZE": 512,
                                 "METHOD": "spectral", "DEVICE": "cpu",
                                 "LABEL_MODEL": str(tiny_models.path("openclip")),
                                 "LABELS": ", ".join(LABELS), "OUTPUT": str(tmp_path / "c.gpkg")})
    feats = _features(res["OUTPUT"])
    assert feats and res["TEXT"].startswith(f"{len(feats)} change regions")
    for f in feats:
        assert f["label"] in LABELS, f
        assert 0.0 <= f["label_score"] <= 1.0


def test_a_streamed_vlm_change_captions_the_largest_regions(provider, pair, tiny_models,
                                                            tmp_path):
    a, b = pair
    res = _run("eolens:change", {"INPUT": a, "INPUT_B": b, "MAX_SIDE": 0, "TILE_SIZE": 512,
                                 "METHOD": "vlm", "MODEL": str(tiny_models.path("qwen3_vl")),
                                 "CAPTION_REGIONS": 2, "MIN_AREA": 20 * RES * RES, "DEVICE": "cpu",
                                 "OUTPUT": str(tmp_path / "v.gpkg")})
    feats = _features(res["OUTPUT"])
    assert feats and res["TEXT"] and "change regions" not in res["TEXT"]   # the pair's caption too
    captioned = [f for f in feats if f.get("caption")]
    assert len(captioned) == min(2, len(feats))
    by_area = sorted(feats, key=lambda f: -f["_area"])
    assert {f["_area"] for f in captioned} == {f["_area"] for f in by_area[:len(captioned)]}
    assert sorted(f["caption_rank"] for f in captioned) == list(range(1, len(captioned) + 1))
    first = next(f for f in captioned if f["caption_rank"] == 1)
    assert first["_area"] == by_area[0]["_area"]


def test_cancel_while_naming_regions_leaves_no_output(provider, pair, tiny_models, tmp_path,
                                                       monkeypatch):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    import processing

    feedback, calls = QgsProcessingFeedback(), []
    score = change_regions.score_crops

    def score_then_cancel(*args, **kwargs):
        calls.append(len(args[1]))
        out = score(*args, **kwargs)
        feedback.cancel()        # the user presses Cancel after the first batch of chips
        return out

    monkeypatch.setattr(change_regions, "score_crops", score_then_cancel)
    a, b = pair
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(QgsProcessingException):
        processing.run("eolens:change", {"INPUT": a, "INPUT_B": b, "MAX_SIDE": 0, "TILE_SIZE": 512,
                                         "LABEL_MODEL": str(tiny_models.path("openclip")),
                                         "LABELS": ", ".join(LABELS), "DEVICE": "cpu",
                                         "OUTPUT": str(out / "c.gpkg"),
                                         "OUTPUT_RASTER": str(out / "h.tif")}, feedback=feedback)
    assert calls == [change_regions.BATCH]        # stopped mid-way, after one batch of many
    assert sorted(p.name for p in out.iterdir()) == []


# --- chips ------------------------------------------------------------------------------------
def test_a_region_chip_is_read_on_its_own_pixels(pair):
    a, b = pair
    reader = change_regions.ChipReader(a, b)
    square = _map_box(*SQUARE)
    c0, r0, c1, r1 = SQUARE
    pad = round(0.1 * (c1 - c0))
    win = reader.window(square)
    assert (win.col_off, win.row_off, win.width, win.height) == (
        c0 - pad, r0 - pad, c1 - c0 + 2 * pad, r1 - r0 + 2 * pad)
    chip = reader.read(square)
    assert chip.a.shape == chip.b.shape == (r1 - r0 + 2 * pad, c1 - c0 + 2 * pad, 3)
    inner = (slice(pad, -pad), slice(pad, -pad))
    assert (chip.b[inner] == 255).all()              # the bright square pasted into B
    assert chip.a[inner].mean() < 200                 # A there is the NAIP scene
    ring = np.ones(chip.b.shape[:2], bool)
    ring[inner] = False
    assert (chip.b[ring] != 255).any()                # the padding is B's scene around it
    assert reader.read(_map_box(5000, 5000, 5040, 5040)).reason == change_regions.NO_PIXELS
    assert reader.read(_map_box(SIDE_PLUS, 0, SIDE_PLUS + 40, 40)).reason == change_regions.OUTSIDE


SIDE_PLUS = 20_100   # columns beyond the 20,000 px layer


def test_a_large_region_is_decimated_to_the_chip_side(pair):
    a, b = pair
    chip = change_regions.ChipReader(a, b, side=64).read(_map_box(AT[0], AT[1], AT[0] + 600,
                                                                  AT[1] + 300))
    assert max(chip.a.shape[:2]) == 64 and chip.a.shape == chip.b.shape


def test_in_memory_chips_equal_the_chips_read_from_the_files(shared_data):
    from eolens.inference import actions
    from eolens.inference.change.spectral import change_polygons, detect_change

    a, b = _naip(shared_data)
    ia, ib = actions.coregister_pair(a, b)
    polys = change_polygons(detect_change(ia, ib), ia.transform, min_area=200.0)
    assert len(polys) >= 3
    reader = change_regions.ChipReader(a, b, side=None)
    for p in polys[:5]:
        mem, disk = change_regions.crop_chip(ia, ib, p, side=None), reader.read(p)
        assert mem.a.shape == disk.a.shape
        assert np.array_equal(mem.a, disk.a)
        assert np.abs(mem.b.astype(int) - disk.b.astype(int)).max() <= 1   # same warp, same pixels


def test_streamed_and_in_memory_labels_agree(shared_data, tiny_models):
    from eolens.inference import actions
    from eolens.inference.change.spectral import change_polygons, detect_change

    a, b = _naip(shared_data)
    ia, ib = actions.coregister_pair(a, b)
    polys = change_polygons(detect_change(ia, ib), ia.transform, min_area=200.0)
    feats = [GeoFeature(p, {"area": p.area}) for p in polys]
    streamed = copy.deepcopy(feats)
    model, opts = str(tiny_models.path("openclip")), actions.RunOptions(device="cpu")
    actions._label_changes(feats, ib, model, LABELS, opts, CancelToken())
    clip = actions.load(model, "classify", opts)
    change_regions.label_regions_streamed(clip, a, b, streamed, LABELS, side=None, batch=4)
    assert len(feats) >= 3 and len({f.properties["label"] for f in feats}) > 1   # not one label
    assert [f.properties["label"] for f in streamed] == [f.properties["label"] for f in feats]
    np.testing.assert_allclose([f.properties["label_score"] for f in streamed],
                               [f.properties["label_score"] for f in feats], atol=2e-3)


class _EchoVlm:
    """A two-image model stand-in: the caption says how bright B's chip is."""

    def __init__(self):
        self.calls = 0

    def run(self, request, progress=None, cancel=None):
        from eolens.inference.results import PixelResult

        self.calls += 1
        assert request.task == "change_caption" and request.image_b is not None
        return PixelResult(text=f"mean {request.image_b.mean():.0f}")


def test_in_memory_vlm_change_captions_the_largest_chips(shared_data, monkeypatch):
    from eolens.inference import actions

    a, b = _naip(shared_data)
    ia, ib = actions.coregister_pair(a, b, max_side=256)
    vlm = _EchoVlm()
    monkeypatch.setattr(actions, "load", lambda *args, **kwargs: vlm)
    res = actions.change(ia, ib, method="vlm", model="x", caption_regions=3)
    feats = res.features
    assert len(feats) > 3 and vlm.calls == 1 + 3          # the pair, then three chips
    top = sorted(range(len(feats)), key=lambda i: -feats[i].geometry.area)[:3]
    assert [feats[i].properties["caption_rank"] for i in top] == [1, 2, 3]
    assert all(feats[i].properties["caption"].startswith("mean ") for i in top)
    assert sum("caption" in f.properties for f in feats) == 3


def test_a_region_without_pixels_gets_an_empty_caption_and_a_reason(pair):
    a, b = pair
    feats = [GeoFeature(_map_box(5000, 5000, 5400, 5400), {}),           # nodata, but largest
             GeoFeature(_map_box(*SQUARE), {})]
    vlm = _EchoVlm()
    assert change_regions.caption_regions(vlm, a, b, feats, 5) == 2
    assert feats[0].properties == {"caption_rank": 1, "caption": "",
                                   "reason": change_regions.NO_PIXELS}
    bright = change_regions.ChipReader(a, b).read(_map_box(*SQUARE)).b.mean()
    assert bright > 170                                  # the bright square fills most of it
    assert feats[1].properties == {"caption_rank": 2, "caption": f"mean {bright:.0f}"}
    assert vlm.calls == 1


def test_captioning_honours_cancel(pair):
    a, b = pair
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        change_regions.caption_regions(_EchoVlm(), a, b, [GeoFeature(_map_box(*SQUARE), {})], 1,
                                       cancel=token)
