"""CLIP family: tiny open_clip and HF CLIP checkpoints written, reloaded by path and run."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from eolens.inference.errors import InputError, ModelError, UnsafeModelError
from eolens.inference.models.registry import ModelSpec
from eolens.inference.results import Request

FAMILIES = ("openclip", "hfclip")
DIM = 32  # projection dim of both tiny models


def _spec(path, family="openclip", **kw):
    return ModelSpec(str(path), family, str(path), **kw)


def _load(family, path, **kw):
    import torch

    from eolens.inference.models.clip_family import load_hfclip, load_openclip

    loader = load_openclip if family == "openclip" else load_hfclip
    return loader(_spec(path, family, **kw), path, "cpu", torch.float32)


@pytest.fixture(scope="module")
def images(shared_data):
    import rasterio

    out = []
    for name in ("harbor91.tif", "airplane96.tif", "tenniscourt91.tif"):
        with rasterio.open(shared_data / "captions" / "ucm_captions" / name) as ds:
            out.append(np.ascontiguousarray(ds.read([1, 2, 3]).transpose(1, 2, 0)))
    return out


@pytest.fixture(scope="module")
def backends(tiny_models):
    from eolens.inference.models import runtime

    return {f: runtime.load_model(str(tiny_models.path(f)), device="cpu") for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_loads_by_path_through_runtime(backends, family):
    backend = backends[family]
    assert backend.family == family
    assert {"embed_image", "embed_text", "classify", "search"} <= backend.tasks


@pytest.mark.parametrize("family", FAMILIES)
def test_embeddings_are_normalised(backends, images, family, no_network):
    backend = backends[family]
    one = backend.run(Request("embed_image", image=images[0])).embedding
    many = backend.run(Request("embed_image", options={"images": images})).embedding
    text = backend.run(Request("embed_text", prompt="a harbour with ships")).embedding
    texts = backend.run(Request("embed_text", options={"texts": ["ships", "planes"]})).embedding
    assert one.shape == text.shape == (DIM,)
    assert many.shape == (3, DIM) and texts.shape == (2, DIM)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(many[0], one, atol=1e-5)  # batching changes nothing
    assert not np.allclose(many[0], many[1], atol=1e-3)


@pytest.mark.parametrize("family", FAMILIES)
def test_classify_equals_direct_cosine_softmax(backends, images, family, no_network):
    backend = backends[family]
    classes = ["harbor", "airplane", "tennis court"]
    out = backend.run(Request("classify", image=images[1], options={"classes": classes}))
    img = backend.encode_images([images[1]])
    txt = backend.embed_phrases(classes)
    sim = (img @ txt.T)[0]
    scale = float(backend.model.logit_scale.detach().exp())
    expected = np.exp(scale * sim - (scale * sim).max())
    np.testing.assert_allclose(out.scores, expected / expected.sum(), rtol=1e-4, atol=1e-6)
    assert out.text == classes[int(np.argmax(expected))]
    np.testing.assert_allclose(out.extra["similarity"], sim, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_search_task_ranks_images_by_cosine(backends, images, family, no_network):
    backend = backends[family]
    out = backend.run(Request("search", prompt="ships", options={"images": images}))
    expected = backend.encode_images(images) @ backend.embed_phrases(["ships"])[0]
    np.testing.assert_allclose(out.scores, expected, atol=1e-5)


@pytest.mark.parametrize("family, width", [("openclip", 64), ("hfclip", 64)])
def test_patch_tokens_grid(backends, images, family, width):
    tokens = backends[family].patch_tokens(images[:2])
    assert tokens.shape == (2, 7, 7, width)  # 224 px / 32 px patches
    assert np.isfinite(tokens).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_requests_missing_inputs_are_input_errors(backends, family):
    with pytest.raises(InputError):
        backends[family].run(Request("classify", image=np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(InputError):
        backends[family].run(Request("embed_text"))


def test_resizes_any_tile_size(backends, images):
    big = np.repeat(np.repeat(images[0], 2, axis=0), 2, axis=1)  # 512 px
    emb = backends["openclip"].encode_images([big, images[0][:100, :180]])
    assert emb.shape == (2, DIM) and np.isfinite(emb).all()


# --- the QuickGELU trap ---------------------------------------------------------------------

@pytest.mark.parametrize("filename, arch", [
    ("RS5M_ViT-B-32.pt", "ViT-B-32-quickgelu"),       # GeoRSCLIP: OpenAI-initialised
    ("RS5M_ViT-H-14.pt", "ViT-H-14"),                 # no OpenAI H-14 exists
    ("RemoteCLIP-ViT-B-32.pt", "ViT-B-32"),           # as the authors load it
    ("SkyCLIP_ViT_L14_top50pct.pt", "ViT-L-14-quickgelu"),
    ("ViT-B-16-quickgelu.pt", "ViT-B-16-quickgelu"),
])
def test_infer_arch_from_real_checkpoint_names(filename, arch):
    from eolens.inference.models.clip_family import infer_arch

    assert infer_arch(filename) == arch


def test_infer_arch_unknown_name_is_model_error():
    from eolens.inference.models.clip_family import infer_arch

    with pytest.raises(ModelError, match="weights.pt"):
        infer_arch("weights.pt")


@pytest.fixture(scope="module")
def bare_ckpt(tiny_models, tmp_path_factory):
    """The tiny quickgelu-trained checkpoint alone in a folder, no config beside it."""
    from tools.tiny_models.clip import CHECKPOINT

    folder = tiny_models.path("openclip")
    dst = tmp_path_factory.mktemp("bare") / CHECKPOINT
    shutil.copy(folder / CHECKPOINT, dst)
    return dst


def test_quickgelu_checkpoint_picked_from_name(backends, bare_ckpt, images, no_network):
    bare = _load("openclip", bare_ckpt)
    assert bare.arch == "eolens-tiny-quickgelu"
    ref = backends["openclip"].encode_images(images[:2])
    np.testing.assert_allclose(bare.encode_images(images[:2]), ref, atol=1e-5)


def test_quickgelu_checkpoint_under_gelu_arch_differs(backends, bare_ckpt, images):
    # open_clip loads it silently: only the embeddings show the trap.
    gelu = _load("openclip", bare_ckpt, arch="eolens-tiny")
    ref = backends["openclip"].encode_images(images[:2])
    assert np.abs(gelu.encode_images(images[:2]) - ref).max() > 1e-3


def test_arch_mismatch_is_clear_model_error(bare_ckpt, tmp_path):
    import open_clip

    from tools.tiny_models.clip import _TINY_CFG

    wide = json.loads(json.dumps(_TINY_CFG))
    wide["vision_cfg"]["width"] = 96
    (tmp_path / "eolens-tiny-wide.json").write_text(json.dumps(wide))
    open_clip.add_model_config(tmp_path)
    with pytest.raises(ModelError, match=r"eolens-tiny-quickgelu\.pt.*eolens-tiny-wide"):
        _load("openclip", bare_ckpt, arch="eolens-tiny-wide")
    with pytest.raises(ModelError, match="no-such-arch"):
        _load("openclip", bare_ckpt, arch="no-such-arch")


def test_pickled_code_checkpoint_is_refused(bare_ckpt, tmp_path):
    import argparse

    import torch

    ckpt = tmp_path / "evil.pt"
    torch.save({"state_dict": argparse.Namespace(a=1)}, ckpt)  # an object, not plain weights
    with pytest.raises(UnsafeModelError, match="evil.pt"):
        _load("openclip", ckpt, arch="eolens-tiny")


def test_builders_are_idempotent(tiny_models):
    from tools.tiny_models.clip import build_hfclip, build_openclip

    for family, build in (("openclip", build_openclip), ("hfclip", build_hfclip)):
        folder = tiny_models.path(family)
        stamp = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
        assert build(folder) == folder
        assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamp
