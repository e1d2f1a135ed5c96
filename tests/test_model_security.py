"""Model safety (docs/models.md): no pickled code, remote code only pinned + opted in, clear refusals."""
from __future__ import annotations

import shutil

import pytest

from eolens.inference.models import runtime
from eolens.inference.errors import ModelNotAvailableError, UnsafeModelError
from eolens.inference.models.registry import ModelSpec

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Payload:
    """Unpickling this object opens (creates) the marker file: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def evil_checkpoint(tmp_path):
    import torch

    marker = tmp_path / "pwned"
    path = tmp_path / "RS5M_ViT-B-32.pt"
    torch.save({"weight": torch.zeros(2), "payload": _Payload(marker)}, path)
    assert not marker.exists()
    return path, marker


def test_pickled_code_is_refused_and_never_runs(evil_checkpoint):
    path, marker = evil_checkpoint
    with pytest.raises(UnsafeModelError, match="Refused"):
        runtime.safe_torch_load(path)
    assert not marker.exists()


def test_the_payload_is_real(evil_checkpoint):
    """Guard against a vacuous test: an unsafe load really would run the payload."""
    import torch

    path, marker = evil_checkpoint
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_plain_weights_still_load(tmp_path):
    import torch

    path = tmp_path / "ok.pt"
    torch.save({"w": torch.ones(3)}, path)
    assert runtime.safe_torch_load(path)["w"].sum().item() == 3


@pytest.mark.parametrize("revision,allow", [(None, True), ("main", True), (COMMIT[:12], True),
                                            (COMMIT, False)])
def test_remote_code_refused_unless_pinned_and_enabled(revision, allow):
    spec = ModelSpec("remote", "florence2", "org/remote", revision=revision, trust_remote_code=True)
    with pytest.raises(UnsafeModelError, match="40-character commit.*enabled"):
        runtime.check_remote_code(spec, allow)


def test_remote_code_allowed_when_pinned_and_enabled():
    spec = ModelSpec("remote", "florence2", "org/remote", revision=COMMIT, trust_remote_code=True)
    runtime.check_remote_code(spec, True)  # no error
    runtime.check_remote_code(ModelSpec("x", "florence2", "org/x"), False)


def test_remote_code_folder_is_refused_by_load_model(tmp_path, shared_data, no_network):
    """The original microsoft/Florence-2 layout declares remote code (auto_map + DaViT)."""
    folder = tmp_path / "microsoft-florence"
    folder.mkdir()
    shutil.copy(shared_data / "model-configs" / "microsoft-Florence-2-base" / "config.json", folder)
    assert runtime.resolve_spec(str(folder)).trust_remote_code
    with pytest.raises(UnsafeModelError, match="own Python code"):
        runtime.load_model(str(folder), allow_remote_code=True)


def test_pinned_enabled_remote_code_passes_the_gate_then_needs_the_files(no_network):
    with pytest.raises(ModelNotAvailableError, match="offline"):
        runtime.load_model(f"someorg/remote-model@{COMMIT}", offline=True, allow_remote_code=True)


def test_offline_absent_hub_model_and_missing_folder_are_clear(tmp_path, no_network):
    with pytest.raises(ModelNotAvailableError, match="'someorg/absent'.*not in the cache"):
        runtime.load_model("someorg/absent", offline=True)
    missing = tmp_path / "gone"
    with pytest.raises(ModelNotAvailableError, match=f"No model found at '{missing}'"):
        runtime.load_model(str(missing))


def test_safetensors_preferred(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    assert runtime.weights_kwargs(tmp_path) == {"use_safetensors": True}
    assert runtime.weights_kwargs(tmp_path / "nothing-here") == {}
