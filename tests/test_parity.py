"""Reference parity: each family x task against its library's own canonical call, on the same tiny
random weights and real images (issue 13). A difference here is a difference real weights would
show too."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio

OSBS = "boxes/neon_osbs_029/OSBS_029.tif"


@pytest.fixture(scope="module")
def image(shared_data) -> np.ndarray:
    """A real, non-square 8-bit RGB chip (NEON OSBS), as the file holds it."""
    with rasterio.open(shared_data / OSBS) as ds:
        return np.ascontiguousarray(np.moveaxis(ds.read([1, 2, 3]), 0, -1)[:250])


_loaded: dict = {}


def _backend(tiny_models, family: str):
    import torch
    from eolens.inference.runtime import load_model

    if family not in _loaded:
        _loaded[family] = load_model(str(tiny_models.path(family)), device="cpu")
        assert _loaded[family].dtype == torch.float32
    return _loaded[family]


# ------------------------------------------------------------------ item 1: capture pixels

def test_native_and_rendered_capture_give_the_file_pixels(shared_data):
    """A plain 8-bit RGB layer: native capture, tiles and rendered capture all hand the model
    the bytes in the file (no stretch); they differ only in which pixels are nodata."""
    from eolens.inference.raster_read import capture_native
    from eolens.inference.tiling import iter_tiles
    from eolens.plugin.capture_render import render_capture
    from qgis.core import QgsRasterLayer

    path = shared_data / OSBS
    with rasterio.open(path) as ds:
        file_rgb = np.moveaxis(ds.read([1, 2, 3]), 0, -1)
        partial = (ds.read_masks([1, 2, 3]) == 0).any(axis=0)  # some band is nodata
    native = capture_native(path)
    layer = QgsRasterLayer(str(path), "osbs")
    assert layer.isValid()
    rendered = render_capture(layer, layer.extent(), layer.crs(), layer.rasterUnitsPerPixelX())
    assert rendered.rgb.shape == native.rgb.shape
    both = native.valid & rendered.valid
    assert both.mean() > 0.98
    assert np.array_equal(native.rgb[both], file_rgb[both])
    assert np.array_equal(rendered.rgb[both], file_rgb[both])
    # QGIS hides a pixel when any band is nodata, GDAL's mask when all are: nothing else differs
    assert not (native.valid != rendered.valid)[~partial].any()
    tile = next(iter_tiles(path, tile=256, overlap=0))
    c, r, w, h = tile.meta["window"]
    ok = tile.valid
    assert np.array_equal(tile.rgb[ok], file_rgb[r:r + h, c:c + w][ok])


# ------------------------------------------------------------------ item 2: SAM / SAM 2.1

def _sam_reference(backend, image, points=None, labels=None, boxes=None, multimask=False):
    """The processor's canonical call: processor(...) -> model(...) -> post_process_masks."""
    import torch

    kwargs = {}
    if points:
        kwargs["input_points"] = [[[list(p) for p in points]]]
        kwargs["input_labels"] = [[list(labels or [1] * len(points))]]
    if boxes:
        kwargs["input_boxes"] = [[list(b) for b in boxes]]
    inputs = backend.processor(images=image, return_tensors="pt", **kwargs)
    model_inputs = {k: v for k, v in inputs.items()
                    if k not in ("original_sizes", "reshaped_input_sizes")}
    with torch.inference_mode():
        out = backend.model(**model_inputs, multimask_output=multimask)
    if backend.family == "sam":
        masks = backend.processor.image_processor.post_process_masks(
            out.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"])[0]
    else:
        masks = backend.processor.post_process_masks(out.pred_masks, inputs["original_sizes"])[0]
    scores = out.iou_scores[0]
    best = scores.argmax(dim=-1)
    rows = torch.arange(masks.shape[0])
    return masks[rows, best].numpy().astype(bool), scores[rows, best].numpy()


def _recording_multimask(sam, call, want: bool):
    """Run ``call`` and check the flag the decoder was really given (tiny random decoders can
    give equal masks either way)."""
    seen, forward = [], sam.model.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("multimask_output"))
        return forward(*args, **kwargs)

    sam.model.forward = spy
    try:
        result = call()
    finally:
        del sam.model.forward
    assert seen == [want]
    return result


@pytest.mark.parametrize("family", ["sam", "sam2"])
@pytest.mark.parametrize("prompt", ["one box", "two boxes", "two points", "point and box"])
def test_sam_unambiguous_prompts_ask_for_one_mask(tiny_models, image, family, prompt, no_network):
    from eolens.inference.results import Request

    options = {"one box": {"boxes": [(40, 30, 200, 180)]},
               "two boxes": {"boxes": [(40, 30, 200, 180), (220, 100, 390, 240)]},
               "two points": {"points": [(120, 100), (300, 60)], "labels": [1, 0]},
               "point and box": {"points": [(120, 100)], "boxes": [(40, 30, 200, 180)]}}[prompt]
    sam = _backend(tiny_models, family)
    got = _recording_multimask(sam, lambda: sam.run(Request("segment_prompt", image,
                                                            options=options)), want=False)
    want_masks, want_scores = _sam_reference(sam, image, multimask=False, **options)
    assert len(got.masks) == len(want_masks)
    for mine, theirs in zip(got.masks, want_masks):
        assert mine.shape == image.shape[:2]
        assert (mine == theirs).mean() > 0.999  # resize rounding may flip a boundary pixel
    np.testing.assert_allclose(got.scores, want_scores, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", ["sam", "sam2"])
def test_sam_single_click_keeps_the_best_of_three(tiny_models, image, family, no_network):
    from eolens.inference.results import Request

    sam = _backend(tiny_models, family)
    got = _recording_multimask(sam, lambda: sam.run(Request(
        "segment_prompt", image, options={"points": [(150, 120)]})), want=True)
    want_masks, want_scores = _sam_reference(sam, image, points=[(150, 120)], multimask=True)
    assert (got.masks[0] == want_masks[0]).mean() > 0.999
    np.testing.assert_allclose(got.scores, want_scores, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ item 7: DINOv2 features

def test_dinov2_patch_grid_is_the_processors_bicubic_resize(tiny_models, image, no_network):
    """Features of the whole (non-square) capture: the processor's bicubic resize to a
    patch-aligned size without the centre crop, then ``last_hidden_state[:, 1:]``."""
    import torch

    dino = _backend(tiny_models, "dinov2")
    assert dino.processor.resample == 3  # PIL bicubic in the checkpoint's own config
    got = dino.patch_tokens([image])[0]
    gh, gw = got.shape[:2]
    assert abs(gw / gh - image.shape[1] / image.shape[0]) < 0.1  # aspect kept, nothing cropped
    inputs = dino.processor(images=image, size={"height": gh * 14, "width": gw * 14},
                            do_center_crop=False, return_tensors="pt")
    with torch.inference_mode():
        want = dino.model(**inputs).last_hidden_state[0, 1:].numpy().reshape(gh, gw, -1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
