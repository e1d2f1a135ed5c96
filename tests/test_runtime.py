"""Model runtime: resolving names, caching, unloading, devices, error translation, hub progress."""
from __future__ import annotations

import json

import pytest

from eolens.inference.models import florence, hub, registry, runtime
from eolens.inference.cancel import CancelToken
from eolens.inference.models.devices import pick_device
from eolens.inference.errors import (Cancelled, InputError, ModelError, ModelNotAvailableError,
                                     OutOfMemoryError)


@pytest.fixture(autouse=True)
def _empty_cache():
    runtime.unload()
    yield
    runtime.unload()


@pytest.fixture(scope="module")
def florence_dir(tiny_models):
    return tiny_models.path("florence2")


def _folder(tmp_path, name, files):
    folder = tmp_path / name
    folder.mkdir()
    for fname, content in files.items():
        (folder / fname).write_text(json.dumps(content) if isinstance(content, dict) else content)
    return folder


def test_resolve_registry_name_and_hub_ids():
    spec = runtime.resolve_spec("florence-2-base")
    assert (spec.family, spec.source) == ("florence2", "florence-community/Florence-2-base")
    pinned = runtime.resolve_spec("florence-community/Florence-2-base@" + "a" * 40)
    assert pinned.family == "florence2" and pinned.revision == "a" * 40
    assert hub.parse_hub_id("org/name@v1.0") == ("org/name", "v1.0")
    assert hub.parse_hub_id("/abs/path") is None


def test_resolve_local_folders(tmp_path, florence_dir):
    spec = runtime.resolve_spec(str(florence_dir))
    assert spec.family == "florence2" and spec.source == str(florence_dir.resolve())
    assert "caption" in spec.tasks
    clip = _folder(tmp_path, "oc", {"open_clip_config.json": {"model_cfg": {}}})
    assert runtime.resolve_spec(str(clip)).family == "openclip"
    sam = _folder(tmp_path, "sam", {"config.json": {"model_type": "sam2"}})
    assert runtime.resolve_spec(str(sam)).family == "sam2"


def test_resolve_open_clip_checkpoint_files(tmp_path):
    geo = tmp_path / "RS5M_ViT-B-32.pt"
    geo.write_bytes(b"")
    spec = runtime.resolve_spec(str(geo))
    assert (spec.family, spec.arch) == ("openclip", "ViT-B-32-quickgelu")  # registry knows quickgelu
    other = tmp_path / "mine_ViT-L-14.pt"
    other.write_bytes(b"")
    assert runtime.resolve_spec(str(other)).arch == "ViT-L-14"
    mystery = tmp_path / "weights.pt"
    mystery.write_bytes(b"")
    with pytest.raises(ModelNotAvailableError, match="architecture"):
        runtime.resolve_spec(str(mystery))


def test_resolve_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope" / "model"
    with pytest.raises(ModelNotAvailableError, match=str(missing)):
        runtime.resolve_spec(str(missing))
    empty = _folder(tmp_path, "empty", {"README.md": "hi"})
    with pytest.raises(ModelNotAvailableError, match=str(empty)):
        runtime.resolve_spec(str(empty))
    odd = _folder(tmp_path, "odd", {"config.json": {"model_type": "gpt2"}})
    with pytest.raises(ModelError, match="gpt2"):
        runtime.resolve_spec(str(odd))
    with pytest.raises(ModelNotAvailableError, match="Unknown model 'wat'"):
        runtime.resolve_spec("wat")
    with pytest.raises(ModelError, match="cannot do 'chat'"):
        runtime.resolve_spec("florence-2-base", task="chat")


def test_cache_returns_same_backend_and_unload_empties_it(florence_dir, no_network):
    first = runtime.load_model(str(florence_dir), device="cpu")
    assert isinstance(first, florence.FlorenceBackend)
    assert runtime.load_model(str(florence_dir), device="cpu") is first
    assert runtime.loaded_models() == [str(florence_dir)]
    runtime.unload(str(florence_dir))
    assert runtime.loaded_models() == [] and first.model is None
    again = runtime.load_model(str(florence_dir), device="cpu")
    assert again is not first
    runtime.unload()
    assert runtime.loaded_models() == []


def test_concurrent_loads_build_once(florence_dir, monkeypatch):
    import threading

    real, calls = florence.load, []
    monkeypatch.setattr(florence, "load", lambda *a: calls.append(1) or real(*a))
    out = []
    threads = [threading.Thread(target=lambda: out.append(runtime.load_model(str(florence_dir))))
               for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(calls) == 1 and len({id(b) for b in out}) == 1


def test_pick_device():
    import torch

    assert pick_device("cpu") == ("cpu", torch.float32)
    if not torch.cuda.is_available():
        assert pick_device("auto")[0] in ("cpu", "mps")
        with pytest.raises(ModelError, match="CUDA"):
            pick_device("cuda")
    with pytest.raises(InputError):
        pick_device("tpu")


@pytest.mark.parametrize("raised,expected,words", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), OutOfMemoryError, "smaller model"),
    (RuntimeError("Error(s) in loading state_dict: size mismatch for w"), ModelError, "architecture"),
    (AssertionError(), ModelError, "architecture"),
])
def test_loader_errors_are_translated(florence_dir, monkeypatch, raised, expected, words):
    def boom(*_):
        raise raised

    monkeypatch.setattr(florence, "load", boom)
    with pytest.raises(expected, match=words) as info:
        runtime.load_model(str(florence_dir))
    assert str(florence_dir) in str(info.value)
    assert runtime.loaded_models() == []


def test_missing_family_module_is_a_clear_model_error(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.FAMILY_LOADERS, "dinov2", "no_such_family_module:load")
    folder = _folder(tmp_path, "dino", {"config.json": {"model_type": "dinov2"}})
    with pytest.raises(ModelError, match="dinov2"):
        runtime.load_model(str(folder))


def test_offline_absent_hub_model_names_it(no_network):
    with pytest.raises(ModelNotAvailableError, match="someorg/absent-model.*offline"):
        runtime.load_model("someorg/absent-model", offline=True)
    spec = runtime.resolve_spec("florence-2-large")
    with pytest.raises(ModelNotAvailableError, match="Florence-2-large.*not in the cache"):
        hub.fetch(spec, offline=True)
    assert not runtime.is_cached(spec)


def test_is_cached_for_local_models(florence_dir):
    assert runtime.is_cached(runtime.resolve_spec(str(florence_dir)))


def test_download_reports_byte_progress_and_cancels(monkeypatch):
    import huggingface_hub

    seen, token = [], CancelToken()

    def fake_snapshot(repo_id, *, tqdm_class, **kw):
        with tqdm_class(total=1000, unit="B") as bar:
            for _ in range(10):
                bar.update(100)
                if len(seen) == 4:
                    token.cancel()
        return "/unused"

    monkeypatch.setattr(hub, "cached_path", lambda spec: None)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", lambda *a, **k: ["model.safetensors"])
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    spec = registry.ModelSpec("fake", "florence2", "org/fake")
    with pytest.raises(Cancelled):
        hub.fetch(spec, progress=seen.append, cancel=token, offline=False)
    assert seen == [10.0, 20.0, 30.0, 40.0]  # stopped at the first update after cancel


def test_a_bare_openclip_file_gets_the_quickgelu_arch_from_its_name(tmp_path):
    from eolens.inference.models.runtime import resolve_spec

    for name, arch in (("GeoRSCLIP_ViT-B-32.pt", "ViT-B-32-quickgelu"),
                       ("RemoteCLIP-ViT-B-32.pt", "ViT-B-32"),
                       ("RS5M_ViT-B-32.pt", "ViT-B-32-quickgelu")):
        f = tmp_path / name
        f.write_bytes(b"")
        assert resolve_spec(str(f)).arch == arch, name
