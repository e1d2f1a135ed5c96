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
    from eolens.inference.models.runtime import load_model

    if family not in _loaded:
        _loaded[family] = load_model(str(tiny_models.path(family)), device="cpu")
        assert _loaded[family].dtype == torch.float32
    return _loaded[family]


# ------------------------------------------------------------------ item 1: capture pixels

def test_native_and_rendered_capture_give_the_file_pixels(shared_data):
    """A plain 8-bit RGB layer: native capture, tiles and rendered capture all hand the model
    the bytes in the file (no stretch); they differ only in which pixels are nodata."""
    from eolens.inference.io.raster_read import capture_native
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


# ------------------------------------------------------------------ items 3, 4, 7: CLIP families

def _l2(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.mark.parametrize("family", ["openclip", "openclip_squash"])
def test_open_clip_embeddings_use_the_checkpoints_own_transform(tiny_models, image, family,
                                                                 no_network):
    """open_clip's canonical call: create_model_and_transforms(...) -> preprocess(PIL) ->
    encode_image; the folder's resize_mode / interpolation are honoured."""
    import open_clip
    import torch
    from PIL import Image

    clip = _backend(tiny_models, family)
    folder = tiny_models.path(family)
    _, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    with torch.inference_mode():
        want = clip.model.encode_image(preprocess(Image.fromarray(image))[None]).numpy()
        want_text = clip.model.encode_text(
            open_clip.get_tokenizer(f"local-dir:{folder}")(["a forest"])).numpy()
    np.testing.assert_allclose(clip.encode_images([image]), _l2(want), atol=1e-6)
    np.testing.assert_allclose(clip.encode_texts(["a forest"]), _l2(want_text), atol=1e-6)
    expected = {"openclip": ("shortest", "bicubic"), "openclip_squash": ("squash", "bilinear")}
    assert (clip.preprocess_cfg.resize_mode, clip.preprocess_cfg.interpolation) == expected[family]


def test_squash_and_crop_checkpoints_see_different_pixels(tiny_models, image):
    """Same weights, different preprocess_cfg: a non-square image gives other embeddings."""
    a = _backend(tiny_models, "openclip").encode_images([image])
    b = _backend(tiny_models, "openclip_squash").encode_images([image])
    assert float(a[0] @ b[0]) < 0.99999


@pytest.mark.parametrize("family", ["hfclip", "siglip2"])
def test_hf_clip_and_siglip2_match_the_processor_and_model(tiny_models, image, family,
                                                            no_network):
    """transformers' canonical call: processor(text=, images=) -> model(**inputs); SigLIP2 NaFlex
    gets its pixel_attention_mask and spatial_shapes."""
    import torch
    from eolens.inference.results import Request

    clip = _backend(tiny_models, family)
    texts = ["a forest", "a parking lot"]
    text_kwargs = ({"padding": "max_length", "max_length": 64} if family == "siglip2"
                   else {"padding": True})
    inputs = clip.processor(text=texts, images=[image], return_tensors="pt", **text_kwargs)
    if family == "siglip2":
        assert {"pixel_attention_mask", "spatial_shapes"} <= set(inputs)
        assert tuple(inputs["spatial_shapes"][0].tolist()) != (8, 8)  # aspect kept, not square
    with torch.inference_mode():
        out = clip.model(**inputs)
    np.testing.assert_allclose(clip.encode_images([image]), _l2(out.image_embeds), atol=1e-5)
    np.testing.assert_allclose(clip.encode_texts(texts), _l2(out.text_embeds), atol=1e-5)
    got = clip.run(Request("classify", image, options={"classes": texts, "templates": ["{}"]}))
    logits = out.logits_per_image[0]
    want = torch.sigmoid(logits) if family == "siglip2" else logits.softmax(-1)
    np.testing.assert_allclose(got.scores, want.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", ["openclip", "hfclip", "siglip2"])
def test_clip_patch_grid_covers_the_whole_non_square_capture(tiny_models, image, family):
    """Semantic change maps the grid back onto the whole capture: the grid must come from the
    whole image (resized), not from a centre crop of it."""
    clip = _backend(tiny_models, family)
    grid = clip.patch_tokens([image])[0]
    # a change confined to the left fifth (which a centre crop would cut away) shows up
    changed = image.copy()
    changed[:, :80] = 255 - changed[:, :80]
    diff = np.linalg.norm(clip.patch_tokens([changed])[0] - grid, axis=-1)
    left = diff[:, : max(1, grid.shape[1] // 5)]
    assert left.mean() > 0 and left.mean() > diff[:, -max(1, grid.shape[1] // 5):].mean()


# ------------------------------------------------------------------ item 5: Florence-2

def _florence_reference(florence, image, task, prompt="", max_new_tokens=20):
    """The model card's call: processor -> generate -> batch_decode -> post_process_generation."""
    import torch

    inputs = florence.processor(text=task + prompt, images=image, return_tensors="pt")
    with torch.inference_mode():
        ids = florence.model.generate(**inputs, max_new_tokens=max_new_tokens, num_beams=1,
                                      do_sample=False)
    text = florence.processor.batch_decode(ids, skip_special_tokens=False)[0]
    size = (image.shape[1], image.shape[0])
    return text, florence.processor.post_process_generation(text, task=task, image_size=size)[task]


@pytest.mark.parametrize("task, request_task, prompt", [
    ("<MORE_DETAILED_CAPTION>", "caption", ""), ("<OD>", "detect", ""),
    ("<CAPTION_TO_PHRASE_GROUNDING>", "ground", "trees")])
def test_florence_generates_what_the_model_card_call_generates(tiny_models, image, task,
                                                               request_task, prompt, no_network):
    from eolens.inference.results import Request

    florence = _backend(tiny_models, "florence2")
    got = florence.run(Request(request_task, image, prompt,
                               options={"max_new_tokens": 20, "num_beams": 1}))
    text, parsed = _florence_reference(florence, image, task, prompt)
    assert got.extra["raw"] == text
    if request_task == "caption":
        assert got.text == parsed.strip()
    else:
        want = [lab for lab in parsed["labels"] if lab] if request_task == "ground" else parsed["labels"]
        assert [b.label for b in got.boxes] == [lab or prompt for lab in want]


def test_florence_grounding_drops_the_processors_banned_phrases(tiny_models, image):
    """'the image' and pronouns are never grounded (whole-image boxes): as post_process_generation."""
    florence = _backend(tiny_models, "florence2")
    text = ("</s><s>the image<loc_0><loc_0><loc_999><loc_999>a red roof<loc_100><loc_200>"
            "<loc_300><loc_400>it<loc_5><loc_5><loc_990><loc_990></s>")
    size = (image.shape[1], image.shape[0])
    want = florence.processor.post_process_generation(
        text, task="<CAPTION_TO_PHRASE_GROUNDING>", image_size=size)["<CAPTION_TO_PHRASE_GROUNDING>"]
    got = florence.postprocess(_ground_request(image), {"token": "<CAPTION_TO_PHRASE_GROUNDING>",
                                                        "text": text, "size": size})
    assert [b.label for b in got.boxes] == want["labels"] == ["a red roof"]
    np.testing.assert_allclose([[b.x0, b.y0, b.x1, b.y1] for b in got.boxes], want["bboxes"],
                               atol=1.0)


def _ground_request(image):
    from eolens.inference.results import Request

    return Request("ground", image, "red roof")


# ------------------------------------------------------------------ GroundingDINO, SAM 3, Qwen-VL

def test_grounding_dino_detect_matches_post_process_grounded_object_detection(tiny_models, image,
                                                                             no_network):
    import torch
    from eolens.inference.results import Request

    dino = _backend(tiny_models, "grounding_dino")
    got = dino.run(Request("detect", image, "trees. roofs", options={
        "box_threshold": 0.05, "text_threshold": 0.05}))
    inputs = dino.processor(images=image, text="trees. roofs.", return_tensors="pt")
    with torch.inference_mode():
        out = dino.model(**inputs)
    h, w = image.shape[:2]
    want = dino.processor.post_process_grounded_object_detection(
        out, inputs["input_ids"], threshold=0.05, text_threshold=0.05, target_sizes=[(h, w)])[0]
    boxes = want["boxes"].numpy().clip([0, 0, 0, 0], [w, h, w, h])
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    assert len(got.boxes) == int(keep.sum()) > 0
    np.testing.assert_allclose([[b.x0, b.y0, b.x1, b.y1] for b in got.boxes], boxes[keep],
                               atol=1e-3)
    np.testing.assert_allclose(got.scores, want["scores"].numpy()[keep], atol=1e-6)


def test_sam3_text_masks_match_post_process_instance_segmentation(tiny_models, image, no_network):
    import torch
    from eolens.inference.results import Request

    sam3 = _backend(tiny_models, "sam3")
    got = sam3.run(Request("segment_text", image, "tree", options={"threshold": 0.0}))
    inputs = sam3.processor(images=image, text="tree", return_tensors="pt")
    with torch.inference_mode():
        out = sam3.model(**inputs)
    want = sam3.processor.post_process_instance_segmentation(
        out, threshold=0.0, mask_threshold=0.5, target_sizes=[image.shape[:2]])[0]
    assert len(got.masks) == len(want["masks"]) > 0
    np.testing.assert_allclose(got.scores, want["scores"].numpy(), atol=1e-6)
    assert all(np.array_equal(m, w) for m, w in zip(got.masks, want["masks"].numpy()))


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl"])
def test_qwen_chat_answers_as_the_processor_and_generate_do(tiny_models, image, family,
                                                            no_network):
    """The model card's call: chat template -> processor(text, images) -> generate -> decode."""
    import torch
    from eolens.inference.results import Request

    qwen = _backend(tiny_models, family)
    question = "What is in this image?"
    got = qwen.run(Request("chat", image, question, options={"max_new_tokens": 8}))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    text = qwen.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = qwen.processor(text=[text], images=[image], return_tensors="pt")
    with torch.inference_mode():
        ids = qwen.model.generate(**inputs, max_new_tokens=8, do_sample=False)
    want = qwen.processor.batch_decode(ids[:, inputs["input_ids"].shape[1]:],
                                       skip_special_tokens=True)[0].strip()
    assert got.text == want
