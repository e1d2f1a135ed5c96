"""Florence-2: the <loc_> parser (exact geometry, malformed input) and the backend end to end on
a tiny random-weight model of the real architecture, loaded by folder path."""
from __future__ import annotations

import numpy as np
import pytest

from eolens.inference.models import florence_parse, runtime
from eolens.inference.cancel import CancelToken
from eolens.inference.errors import Cancelled, InputError
from eolens.inference.results import Request

# Real-format model outputs (what batch_decode(skip_special_tokens=False) gives).
OD = "</s><s>airplane<loc_100><loc_200><loc_300><loc_400>car<loc_0><loc_0><loc_999><loc_999>" \
     "<loc_10><loc_20><loc_30><loc_40></s>"
GROUND = "</s><s>a white airplane<loc_52><loc_331><loc_498><loc_720></s>"
SEG = "</s><s><loc_100><loc_100><loc_500><loc_100><loc_500><loc_600><loc_100><loc_600></s>"
SEG_POLY = "</s><s>tank<poly><loc_0><loc_0><loc_10><loc_0><loc_10><loc_10><sep>" \
           "<loc_20><loc_20><loc_30><loc_20><loc_30><loc_30></poly></s>"
W, H = 256, 128


def px(b: int, size: int) -> float:
    return (b + 0.5) * size / 1000


def test_boxes_exact_pixel_geometry():
    boxes, warnings = florence_parse.parse_boxes(OD, W, H)
    assert warnings == []
    assert [(b.label, b.x0, b.y0, b.x1, b.y1) for b in boxes] == [
        ("airplane", px(100, W), px(200, H), px(300, W), px(400, H)),
        ("car", px(0, W), px(0, H), px(999, W), px(999, H)),
        ("car", px(10, W), px(20, H), px(30, W), px(40, H))]
    assert boxes[0].x0 == pytest.approx(25.728) and boxes[1].x1 == pytest.approx(255.872)


def test_grounding_and_caption():
    res = florence_parse.parse("<CAPTION_TO_PHRASE_GROUNDING>", GROUND, 1000, 500)
    assert [(b.label, b.x0, b.y0, b.x1, b.y1) for b in res.boxes] == [
        ("a white airplane", 52.5, 165.75, 498.5, 360.25)]
    cap = florence_parse.parse("<CAPTION>", "</s><s>An airplane parked on the tarmac.</s>", W, H)
    assert cap.text == "An airplane parked on the tarmac." and not cap.boxes and not cap.warnings


def test_polygons_exact_geometry():
    res = florence_parse.parse("<REFERRING_EXPRESSION_SEGMENTATION>", SEG, 1000, 2000, label="field")
    assert len(res.polygons) == 1 and res.polygons[0].label == "field" and not res.warnings
    np.testing.assert_array_equal(res.polygons[0].coords,
                                  [[100.5, 201], [500.5, 201], [500.5, 1201], [100.5, 1201]])
    res = florence_parse.parse("<REFERRING_EXPRESSION_SEGMENTATION>", SEG_POLY, 1000, 1000)
    assert [p.label for p in res.polygons] == ["tank", "tank"]
    np.testing.assert_array_equal(res.polygons[1].coords, [[20.5, 20.5], [30.5, 20.5], [30.5, 30.5]])


@pytest.mark.parametrize("text", [
    "", "</s><s></s>", "airplane", "airplane<loc_1><loc_2><loc_3>", "<loc_>", "plane<loc_5000>" * 4,
    "x<loc_500><loc_500><loc_100><loc_100>", "<poly><loc_1><loc_2></poly>", "<<<>>>loc_1"])
@pytest.mark.parametrize("token", ["<OD>", "<OPEN_VOCABULARY_DETECTION>",
                                   "<CAPTION_TO_PHRASE_GROUNDING>", "<REFERRING_EXPRESSION_SEGMENTATION>"])
def test_malformed_output_gives_empty_result_and_warning(token, text):
    res = florence_parse.parse(token, text, W, H)
    assert res.boxes == [] and res.polygons == []
    assert res.warnings and all(isinstance(w, str) for w in res.warnings)


def test_stray_tokens_warn_but_keep_good_boxes():
    boxes, warnings = florence_parse.parse_boxes("car<loc_1><loc_2><loc_3><loc_4><loc_5>", W, H)
    assert len(boxes) == 1 and len(warnings) == 1


@pytest.fixture(scope="module")
def florence_dir(tiny_models):
    return tiny_models.path("florence2")


@pytest.fixture(scope="module")
def backend(florence_dir):
    b = runtime.load_model(str(florence_dir), device="cpu")
    yield b
    runtime.unload()


@pytest.mark.parametrize("token,text", [("<OD>", OD), ("<CAPTION_TO_PHRASE_GROUNDING>", GROUND),
                                        ("<OPEN_VOCABULARY_DETECTION>", OD),
                                        ("<REFERRING_EXPRESSION_SEGMENTATION>", SEG),
                                        ("<REFERRING_EXPRESSION_SEGMENTATION>", SEG_POLY)])
def test_parser_agrees_with_transformers_post_processor(backend, token, text):
    """transformers truncates the same bin centres to int; our floats must floor to its values."""
    theirs = backend.processor.post_process_generation(text, task=token, image_size=(W, H))[token]
    ours = florence_parse.parse(token, text, W, H)
    if ours.boxes:
        key = "bboxes"
        assert [[int(v) for v in (b.x0, b.y0, b.x1, b.y1)] for b in ours.boxes] == theirs[key]
    else:
        flat = [r for inst in theirs["polygons"] for r in inst]
        assert [[int(v) for v in p.coords.ravel()] for p in ours.polygons] == flat


@pytest.fixture(scope="module")
def airplane(shared_data):
    import rasterio

    with rasterio.open(shared_data / "captions" / "ucm_captions" / "airplane96.tif") as ds:
        return np.ascontiguousarray(ds.read([1, 2, 3]).transpose(1, 2, 0))


@pytest.mark.parametrize("task,prompt,options", [
    ("caption", "", {"detail": "brief"}), ("caption", "", {"detail": "more"}),
    ("detect", "", {}), ("detect", "airplane", {}), ("ground", "an airplane", {}),
    ("segment", "airplane", {})])
def test_every_task_end_to_end_offline(backend, airplane, no_network, task, prompt, options):
    seen = []
    res = backend.run(Request(task, image=airplane, prompt=prompt,
                              options={**options, "max_new_tokens": 8}), progress=seen.append)
    assert seen and seen[-1] == 100.0 and seen == sorted(seen)
    raw = res.extra["raw"]
    assert "<image>" not in raw and raw.endswith("</s>")
    if task == "caption":
        assert res.text == florence_parse.caption_text(raw)
    else:
        assert res.boxes or res.polygons or res.warnings  # random weights: mostly warnings


def _script(backend, text: str):
    """Force generation to emit ``text`` token by token via the logits (a test-only hook)."""
    import torch

    ids = backend.processor.tokenizer(text, add_special_tokens=False).input_ids + [2]
    step = {"n": 0}

    def hook(module, inputs, logits):
        forced = torch.full_like(logits, -1e4)
        forced[..., ids[min(step["n"], len(ids) - 1)]] = 1e4
        step["n"] += 1
        return forced

    return backend.model.lm_head.register_forward_hook(hook)


def test_scripted_generation_reaches_exact_boxes_through_the_pipeline(backend, airplane):
    handle = _script(backend, "<s>airplane<loc_100><loc_200><loc_300><loc_400>")
    try:
        res = backend.run(Request("detect", image=airplane, options={"num_beams": 1}))
    finally:
        handle.remove()
    h, w = airplane.shape[:2]
    assert [(b.label, b.x0, b.y0, b.x1, b.y1) for b in res.boxes] == [
        ("airplane", px(100, w), px(200, h), px(300, w), px(400, h))]


def test_cancel_stops_generation_within_one_token(backend, airplane):
    token = CancelToken()
    calls = {"decoder": 0, "at_cancel": None}

    def count(*_):
        calls["decoder"] += 1

    def progress(_pct):
        if calls["decoder"] == 3:
            calls["at_cancel"] = calls["decoder"]
            token.cancel()

    handle = backend.model.model.language_model.decoder.register_forward_hook(count)
    gen = backend.model.generation_config
    old_min = gen.min_new_tokens
    gen.min_new_tokens = 50  # random weights must not hit EOS before the cancel
    try:
        with pytest.raises(Cancelled):
            backend.run(Request("caption", image=airplane, options={"max_new_tokens": 60}),
                        progress=progress, cancel=token)
    finally:
        handle.remove()
        gen.min_new_tokens = old_min
    assert calls["at_cancel"] == 3 and calls["decoder"] - calls["at_cancel"] <= 1


def test_bad_requests_are_input_errors(backend, airplane):
    with pytest.raises(InputError):
        backend.run(Request("segment", image=airplane, prompt=""))
    with pytest.raises(InputError):
        backend.run(Request("caption", image=airplane.astype(np.float32)))
    with pytest.raises(InputError):
        backend.run(Request("caption", image=airplane, options={"detail": "epic"}))


def test_a_session_encodes_the_image_once_and_matches_a_fresh_run(tiny_models, shared_data, no_network):
    from eolens.inference.models.florence import FlorenceSession
    from eolens.inference.results import Request
    from eolens.inference.models.runtime import load_model

    import rasterio

    with rasterio.open(shared_data / "captions" / "ucm_captions" / "airplane96.tif") as ds:
        image = ds.read([1, 2, 3]).transpose(1, 2, 0).copy()
    backend = load_model(str(tiny_models.path("florence2")), device="cpu")
    calls = []
    hook = backend.model.model.vision_tower.register_forward_hook(lambda *a: calls.append(1))
    try:
        session = FlorenceSession(backend, image)
        requests = [Request("caption", image, options={"detail": "brief", "max_new_tokens": 12}),
                    Request("detect", image, prompt="airplane", options={"max_new_tokens": 12})]
        cached = [session.run(r) for r in requests]
        assert len(calls) == 1                           # one encode for every prompt
        fresh = [backend.run(r) for r in requests]
        assert len(calls) == 3
    finally:
        hook.remove()
    for a, b in zip(cached, fresh):
        assert a.text == b.text and a.extra.get("raw") == b.extra.get("raw")


def test_florence_session_takes_the_backend_lock(backend, airplane):
    """FlorenceSession.run waits for a call another thread is making on the same model."""
    from eolens.inference.models.florence import FlorenceSession
    from eolens.inference.results import Request

    from test_sam import blocks_while_locked

    session = FlorenceSession(backend, airplane)
    request = Request("caption", airplane, options={"max_new_tokens": 3})
    assert blocks_while_locked(backend, lambda: session.run(request))
