"""SAM / SAM2.1 / SAM3 / GroundingDINO backends on tiny random-weight checkpoints and real imagery."""
from __future__ import annotations

import json

import numpy as np
import pytest

IMAGE = "boxes/neon_osbs_029/OSBS_029.tif"
LOADERS = {"sam": "sam_family:load_sam", "sam2": "sam_family:load_sam2",
           "sam3": "sam_family:load_sam3", "grounding_dino": "grounding_dino:load_grounding_dino"}
REAL_MODEL_TYPES = {"sam": "sam", "sam2": "sam2_video", "sam3": "sam3",
                    "grounding_dino": "grounding-dino"}


@pytest.fixture(scope="module")
def image(shared_data) -> np.ndarray:
    import rasterio

    with rasterio.open(shared_data / IMAGE) as ds:
        return np.moveaxis(ds.read([1, 2, 3]), 0, -1)


_loaded: dict = {}


def load(tiny_models, family: str):
    """Build the tiny checkpoint, then load it by folder path like a real one."""
    if family not in _loaded:
        import importlib

        import torch

        module, func = LOADERS[family].split(":")
        loader = getattr(importlib.import_module(f"eolens.inference.models.{module}"), func)
        _loaded[family] = loader(None, tiny_models.path(family), "cpu", torch.float32)
    return _loaded[family]


@pytest.mark.parametrize("family", sorted(LOADERS))
def test_tiny_checkpoint_looks_like_the_real_one(tiny_models, family):
    path = tiny_models.path(family)
    assert (path / "model.safetensors").is_file()
    assert json.loads((path / "config.json").read_text())["model_type"] == REAL_MODEL_TYPES[family]
    assert tiny_models.path(family) == path  # idempotent


@pytest.mark.parametrize("family", ["sam", "sam2"])
def test_point_prompts_include_and_exclude(tiny_models, image, no_network, family):
    from eolens.inference.results import Request

    sam = load(tiny_models, family)
    include = sam.run(Request("segment_prompt", image, options={"points": [(120, 200)]}))
    both = sam.run(Request("segment_prompt", image, options={
        "points": [(120, 200), (300, 60)], "labels": [1, 0]}))
    for result in (include, both):
        assert len(result.masks) == 1 and result.scores.shape == (1,)
        assert result.masks[0].shape == image.shape[:2] and result.masks[0].dtype == bool
    assert not np.array_equal(include.masks[0], both.masks[0])  # the exclude point counts


@pytest.mark.parametrize("family", ["sam", "sam2"])
def test_box_prompts_give_one_mask_each_at_original_size(tiny_models, image, no_network, family):
    from eolens.inference.results import Request

    sam = load(tiny_models, family)
    crop = image[:300, :250]  # non-square: catches resize/pad bookkeeping errors
    boxes = [(10, 20, 120, 140), (150, 30, 240, 290), (0, 0, 250, 300)]
    result = sam.run(Request("segment_prompt", crop, options={"boxes": boxes}))
    assert len(result.masks) == 3 and len(result.scores) == 3
    assert all(m.shape == (300, 250) and m.dtype == bool for m in result.masks)
    point_and_box = sam.run(Request("segment_prompt", crop, options={
        "points": [(60, 80)], "labels": [1], "boxes": boxes[:1]}))
    assert len(point_and_box.masks) == 1


@pytest.mark.parametrize("family", ["sam", "sam2"])
def test_session_encodes_the_image_once(tiny_models, image, no_network, family):
    from eolens.inference.results import Request
    from eolens.inference.segment_session import SegmentSession

    sam = load(tiny_models, family)
    calls = []
    hook = sam.model.vision_encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        session = SegmentSession(sam, image)
        first = session.predict(points=[(50, 60)], labels=[1])
        session.predict(boxes=[(100, 100, 200, 180)])
        session.predict(points=[(50, 60), (90, 90)], labels=[1, 0])
    finally:
        hook.remove()
    assert len(calls) == 1
    fresh = sam.run(Request("segment_prompt", image, options={"points": [(50, 60)], "labels": [1]}))
    assert np.array_equal(first.masks[0], fresh.masks[0])


def test_bad_prompts_are_input_errors(tiny_models, image):
    from eolens.inference.errors import InputError
    from eolens.inference.segment_session import SegmentSession

    session = SegmentSession(load(tiny_models, "sam"), image)
    with pytest.raises(InputError):
        session.predict()
    with pytest.raises(InputError):
        session.predict(points=[(1, 2), (3, 4)], labels=[1])
    with pytest.raises(InputError):
        session.predict(boxes=[(50, 50, 10, 60)])


def test_sam_refuses_text_tasks(tiny_models, image):
    from eolens.inference.errors import ModelError
    from eolens.inference.results import Request

    with pytest.raises(ModelError):
        load(tiny_models, "sam2").run(Request("detect", image, "tree"))


def test_grounding_dino_text_to_boxes_inside_the_image(tiny_models, image, no_network):
    from eolens.inference.results import Request

    crop = image[:280, :400]
    result = load(tiny_models, "grounding_dino").run(
        Request("detect", crop, "Tree, building", options={"box_threshold": 0.0}))
    assert result.boxes and len(result.scores) == len(result.boxes)
    for b in result.boxes:
        assert 0 <= b.x0 < b.x1 <= 400 and 0 <= b.y0 < b.y1 <= 280
        assert b.label in ("tree", "building") and 0.0 <= b.score <= 1.0
    strict = load(tiny_models, "grounding_dino").run(
        Request("detect", crop, "tree", options={"box_threshold": 1.01}))
    assert strict.boxes == []


def test_sam3_text_to_instance_masks(tiny_models, image, no_network):
    from eolens.inference.results import Request

    result = load(tiny_models, "sam3").run(
        Request("segment_text", image, "tree", options={"threshold": 0.0}))
    assert result.masks and len(result.masks) == len(result.boxes) == len(result.scores)
    assert all(m.shape == image.shape[:2] and m.dtype == bool for m in result.masks)
    assert {b.label for b in result.boxes} == {"tree"}


@pytest.mark.parametrize("family, cls, task", [
    ("sam", "sam_family:SamBackend", "segment_prompt"),
    ("sam3", "sam_family:Sam3Backend", "segment_text"),
    ("grounding_dino", "grounding_dino:GroundingDinoBackend", "detect")])
def test_runtime_loads_each_tiny_folder(tiny_models, no_network, family, cls, task):
    import importlib

    from eolens.inference.models import runtime

    module, name = cls.split(":")
    backend = runtime.load_model(str(tiny_models.path(family)), task=task, device="cpu")
    assert type(backend) is getattr(importlib.import_module(f"eolens.inference.models.{module}"), name)
    assert task in backend.tasks


def test_runtime_loads_a_sam21_folder(tiny_models, no_network):
    from eolens.inference.models import runtime
    from eolens.inference.models.sam_family import Sam2Backend

    backend = runtime.load_model(str(tiny_models.path("sam2")), task="segment_prompt", device="cpu")
    assert isinstance(backend, Sam2Backend)


def test_sam3_is_not_offered_for_clicks_or_boxes(tiny_models, image):
    """SAM 3 is text-prompted: the resolver and the session refuse it for point/box prompts."""
    from eolens.inference.errors import InputError, ModelError
    from eolens.inference.models.runtime import check_model
    from eolens.inference.segment_session import SegmentSession

    with pytest.raises(ModelError, match="cannot do this"):
        check_model("sam3", ("segment_prompt",))
    assert check_model("sam2.1-hiera-tiny", ("segment_prompt",)).family == "sam2"
    with pytest.raises(InputError, match="point or box prompts"):
        SegmentSession(load(tiny_models, "sam3"), image)


def test_action_results_carry_a_session_handle_not_the_session(tiny_models, sample_dir,
                                                               no_network):
    """ActionResult.meta is plain data (an out-of-process worker stays possible); the handle
    still reuses the encoded capture."""
    import json
    import pickle

    from eolens.inference import actions, sessions

    image = actions.capture(str(sample_dir / "OSBS_029.tif"), max_side=128)
    centre = image.transform * (image.width / 2, image.height / 2)
    out = actions.segment_prompts(image, str(tiny_models.path("sam2")), points=[centre],
                                  labels=[1], opts=actions.RunOptions(device="cpu"))
    handle = out.session
    assert isinstance(handle, str)
    json.dumps({k: v for k, v in out.meta.items()})
    pickle.dumps(out.meta)
    session = sessions.get(handle)
    calls = []
    session.backend.encode = lambda *a: calls.append(1)  # a reuse must not encode again
    try:
        again = actions.segment_prompts(image, "unused", points=[centre], labels=[1],
                                        session=handle)
    finally:
        del session.backend.encode
    assert not calls and again.session == handle
    sessions.clear()
    assert sessions.get(handle) is None


def blocks_while_locked(backend, call) -> bool:
    """True when ``call`` runs no layer of the model while another thread holds
    ``backend.lock``, and completes once it is released."""
    import threading

    ran, done = [], threading.Event()
    hooks = [m.register_forward_pre_hook(lambda *a: ran.append(1)) for m in backend.model.modules()]
    try:
        with backend.lock:
            worker = threading.Thread(target=lambda: (call(), done.set()))
            worker.start()
            worker.join(1.0)
            idle = not ran
        worker.join(60)
    finally:
        for hook in hooks:
            hook.remove()
    return idle and bool(ran) and done.is_set()


def test_segment_session_takes_the_backend_lock(tiny_models, image):
    """The dock and a Processing run may share one cached SAM: session calls take turns too."""
    from eolens.inference.segment_session import SegmentSession

    sam = load(tiny_models, "sam2")
    session = SegmentSession(sam, image)
    assert blocks_while_locked(sam, lambda: session.predict(points=[(120, 200)]))
    assert blocks_while_locked(sam, lambda: SegmentSession(sam, image))
