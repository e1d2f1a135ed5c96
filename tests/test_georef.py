"""Pixel results land on the ground they came from: exact round trips through any affine."""
from __future__ import annotations

import georef_fixtures as fx
import numpy as np
import pytest
from shapely import affinity
from shapely.geometry import box as sbox
from affine import Affine
from eolens.inference.io.geoimage import GeoImage
from eolens.inference.io.georef import (
    box_to_polygon,
    map_to_pixel,
    mask_to_polygons,
    pixel_polygon_to_map,
    result_to_features,
)
from eolens.inference.io.raster_read import capture_native, open_info
from eolens.inference.results import PixelBox, PixelPolygon, PixelResult
from hypothesis import given, settings
from hypothesis import strategies as st


def _ring(b: PixelBox) -> np.ndarray:
    return np.array([(b.x0, b.y0), (b.x1, b.y0), (b.x1, b.y1), (b.x0, b.y1)])


def _same_vertices(geom, expected: np.ndarray, tol: float = 1e-6) -> bool:
    got = np.asarray(geom.exterior.coords)[:-1]
    return len(got) == len(expected) and all(np.abs(got - p).max(axis=1).min() <= tol for p in expected)


def test_real_imagery_box_round_trip():
    full = open_info(fx.RGB_BYTE).transform
    x0, y0 = full * (120.5, 140.25)
    x1, y1 = full * (480.75, 600.5)
    img = capture_native(fx.RGB_BYTE, (x0, y1, x1, y0))
    box = PixelBox(10.25, 20.5, 100.75, 80.125, label="island", score=0.8)
    poly = box_to_polygon(box, img.transform)
    assert _same_vertices(map_to_pixel(poly, img.transform), _ring(box))
    # the same ground in the file's own pixel grid: box + window offset
    c, r = img.meta["window"][:2]
    assert _same_vertices(map_to_pixel(poly, full), _ring(box) + (c, r))


@pytest.mark.parametrize("make", [fx.rotated, fx.south_up])
def test_rotated_and_south_up_rasters_round_trip(tmp_path, make):
    img = capture_native(make(tmp_path))
    box = PixelBox(3.5, 7.25, 60.0, 101.5)
    poly = box_to_polygon(box, img.transform)
    assert _same_vertices(map_to_pixel(poly, img.transform), _ring(box))
    assert poly.is_valid and poly.exterior.is_ccw
    det = abs(img.transform.determinant)
    assert poly.area == pytest.approx((60.0 - 3.5) * (101.5 - 7.25) * det, rel=1e-9)


def test_rotated_box_is_a_rotated_quadrilateral_not_a_bbox(tmp_path):
    img = capture_native(fx.rotated(tmp_path, 30.0))
    poly = box_to_polygon(PixelBox(0, 0, 10, 10), img.transform)
    assert poly.area < 0.9 * sbox(*poly.bounds).area
    (ax, ay), (bx, by) = np.asarray(poly.exterior.coords)[:2]
    assert abs(np.degrees(np.arctan2(by - ay, bx - ax)) % 90 - 30) < 1e-6  # edges at 30° (mod 90)


affines = st.builds(
    lambda sx, sy, rot, south, x0, y0: (Affine.translation(x0, y0) * Affine.rotation(rot)
                                        * Affine.scale(sx, sy if south else -sy)),
    st.floats(0.05, 500), st.floats(0.05, 500), st.floats(-180, 180), st.booleans(),
    st.floats(-2e6, 2e6), st.floats(-1e7, 1e7))
boxes = st.tuples(st.floats(0, 2000), st.floats(0, 2000), st.floats(0.01, 500), st.floats(0.01, 500)) \
    .map(lambda t: PixelBox(t[0], t[1], t[0] + t[2], t[1] + t[3]))


@settings(max_examples=200, deadline=None)
@given(affines, boxes)
def test_property_box_round_trip_any_affine(transform, box):
    poly = box_to_polygon(box, transform)
    back = map_to_pixel(poly, transform)
    assert _same_vertices(back, _ring(box), tol=1e-6)
    # area about a local origin (GEOS 3.11's shoelace loses digits far from (0, 0)); map coordinates
    # themselves carry float64 rounding of about eps * |coordinate| per vertex, over the perimeter
    x0, y0 = poly.exterior.coords[0]
    local = affinity.translate(poly, -x0, -y0)
    rounding = 4 * np.finfo(float).eps * max(abs(x0), abs(y0), 1.0) * poly.length
    assert local.area == pytest.approx((box.x1 - box.x0) * (box.y1 - box.y0) * abs(transform.determinant),
                                       rel=1e-6, abs=rounding)


@settings(max_examples=60, deadline=None)
@given(affines, st.integers(0, 2**31 - 1))
def test_property_mask_area_and_pixels_any_affine(transform, seed):
    mask = np.random.default_rng(seed).random((12, 9)) > 0.6
    polys = mask_to_polygons(mask, transform)
    total = sum(p.area for p in polys)
    assert total == pytest.approx(mask.sum() * abs(transform.determinant), rel=1e-6)
    for p in polys:  # every vertex falls on a pixel corner
        px = np.asarray(map_to_pixel(p, transform).exterior.coords)
        assert np.allclose(px, np.round(px), atol=1e-6)


def test_mask_polygons_keep_holes_on_a_rotated_grid(tmp_path):
    t = open_info(fx.rotated(tmp_path)).transform
    mask = np.zeros((20, 20), bool)
    mask[2:12, 3:15] = True
    mask[5:8, 6:9] = False
    polys = mask_to_polygons(mask, t)
    assert len(polys) == 1 and len(polys[0].interiors) == 1
    assert polys[0].area == pytest.approx(mask.sum() * abs(t.determinant))
    assert mask_to_polygons(np.zeros((4, 4), bool), t) == []
    assert mask_to_polygons(mask, t, min_area=1e12) == []


def test_pixel_polygon_round_trip():
    t = Affine(0.5, 0.1, 1000, 0.2, -0.5, 5000)
    coords = np.array([(0, 0), (10, 2), (7, 9), (1, 6)], float)
    assert _same_vertices(map_to_pixel(pixel_polygon_to_map(coords, t), t), coords)


def _image(transform: Affine, h: int = 40, w: int = 50) -> GeoImage:
    valid = np.ones((h, w), bool)
    valid[:, :5] = False
    return GeoImage(np.zeros((h, w, 3), np.uint8), transform, "EPSG:32618", valid)


def test_result_to_features_all_kinds():
    t = Affine(2.0, 0, 1000, 0, -2.0, 9000)
    img = _image(t)
    mask = np.zeros((40, 50), np.float32)
    mask[10:20, 0:20] = 0.9            # partly over nodata (cols 0-4)
    small = np.zeros((20, 25), bool)   # an instance mask at half resolution
    small[2:4, 10:12] = True
    res = PixelResult(boxes=[PixelBox(1, 2, 3, 4, "ship", 0.7)],
                      polygons=[PixelPolygon(np.array([(0, 0), (4, 0), (4, 4)]), "tri", 0.5)],
                      mask=mask, masks=[small])
    feats = result_to_features(res, img, prompt="ships", model="tiny")
    assert [f.properties["label"] for f in feats[:2]] == ["ship", "tri"]
    assert all(f.properties["prompt"] == "ships" and f.properties["model"] == "tiny" for f in feats)
    assert feats[0].properties["score"] == 0.7
    assert feats[0].geometry.equals(sbox(1002, 8992, 1006, 8996))
    mask_feat = feats[2]
    assert mask_feat.properties["score"] == pytest.approx(0.9)
    assert mask_feat.geometry.area == pytest.approx(10 * 15 * 4)  # nodata columns dropped
    inst = feats[3]
    assert inst.properties["instance"] == 0
    assert inst.geometry.equals(sbox(1040, 8984, 1048, 8992))  # scaled to the image grid
