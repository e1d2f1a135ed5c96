"""Hugging Face hub access: offline cache lookup and downloads with progress and cancel.

``huggingface_hub`` is imported lazily; ``HF_HUB_OFFLINE`` is re-read at call time because the
library only reads it at import.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from ..errors import EOLensError, ModelNotAvailableError

_HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<rev>[\w./-]+))?$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
# formats we never load: only PyTorch / safetensors weights are fetched
_NEVER = ["*.msgpack", "*.h5", "*.onnx", "*.onnx_data", "*.tflite", "*.ot", "*.gguf",
          "flax_model*", "tf_model*", "rust_model*", "onnx/*", "openvino/*", "coreml/*"]
_PICKLED = ["*.bin", "*.pt", "*.pth", "*.ckpt"]


def parse_hub_id(text: str) -> Optional[tuple[str, Optional[str]]]:
    """``org/name`` or ``org/name@rev`` -> (repo_id, revision); None if it is not one."""
    m = _HUB_ID.match(text.strip())
    return (m.group("repo"), m.group("rev")) if m else None


def is_pinned(revision: Optional[str]) -> bool:
    """True for a full 40-hex commit id (branches and tags can move)."""
    return bool(revision and _HEX40.match(revision))


def offline_mode(offline: Optional[bool] = None) -> bool:
    """``offline`` when given, else whether ``HF_HUB_OFFLINE`` is set."""
    if offline is not None:
        return offline
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def describe(spec: Any) -> str:
    """``name (org/repo@rev)`` for messages."""
    src = spec.source + (f"@{spec.revision}" if spec.revision else "")
    src += f" / {spec.filename}" if spec.filename else ""
    return spec.name if spec.name == src else f"{spec.name} ({src})"


def cached_path(spec: Any) -> Optional[Path]:
    """The cached snapshot folder (or file) of a hub spec, without touching the network."""
    from huggingface_hub import hf_hub_download, snapshot_download

    try:
        if spec.filename:
            return Path(hf_hub_download(spec.source, spec.filename, revision=spec.revision,
                                        local_files_only=True))
        path = Path(snapshot_download(spec.source, revision=spec.revision, local_files_only=True))
    except Exception:  # every "not cached" flavour (LocalEntryNotFound, missing refs, ...)
        return None
    return path if any(path.glob("config.json")) or any(path.glob("*.json")) else None


def cached_file(repo_id: str, filename: str, revision: Optional[str] = None) -> Optional[Path]:
    """Path of ``filename`` of a hub repo in the local cache, or None; never uses the network."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, local_files_only=True))
    except Exception:
        return None


def not_cached_error(what: str) -> ModelNotAvailableError:
    """The error for a model that is not cached while offline mode is on."""
    return ModelNotAvailableError(
        f"Model {what} is not in the cache and offline mode is on; download it on a connected "
        f"machine (or turn offline mode off), or choose a local folder that holds it.")


def progress_tqdm(progress: Optional[ProgressFn], cancel: Optional[CancelToken]) -> type:
    """A silent tqdm class that reports byte percent to ``progress`` and raises Cancelled."""
    from tqdm.auto import tqdm

    report, token = progress or noop_progress, ensure_token(cancel)
    best = [0.0]  # several byte bars (transfer / write) run at once: report the furthest

    class _Bar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self._is_bytes = kwargs.get("unit") == "B"
            self.n = kwargs.get("initial", 0) or 0

        def update(self, n: Optional[float] = 1) -> Optional[bool]:
            token.check()
            self.n += n or 0
            if self._is_bytes and self.total:
                pct = min(100.0, 100.0 * self.n / self.total)
                if pct > best[0]:
                    best[0] = pct
                    report(pct)
            return None

    return _Bar


def fetch(spec: Any, progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
          offline: Optional[bool] = None) -> Path:
    """Local path of a hub spec's files: from the cache, or downloaded with progress/cancel."""
    cancel = ensure_token(cancel)
    cached = cached_path(spec)
    if cached is not None:
        return cached
    if offline_mode(offline):
        raise not_cached_error(describe(spec))
    return _download(spec, progress, cancel)


def _download(spec: Any, progress: Optional[ProgressFn], cancel: CancelToken) -> Path:
    import huggingface_hub as hh
    from huggingface_hub import errors as hub_errors

    bar = progress_tqdm(progress, cancel)
    try:
        if spec.filename:
            return Path(hh.hf_hub_download(spec.source, spec.filename, revision=spec.revision,
                                           tqdm_class=bar))
        files = hh.list_repo_files(spec.source, revision=spec.revision)
        has_st = any(f.endswith(".safetensors") for f in files)
        ignore = _NEVER + (_PICKLED if has_st else [])  # never fetch pickles when safetensors exist
        return Path(hh.snapshot_download(spec.source, revision=spec.revision,
                                         ignore_patterns=ignore, tqdm_class=bar))
    except EOLensError:  # Cancelled from the progress bar
        raise
    except hub_errors.GatedRepoError as err:
        raise ModelNotAvailableError(
            f"Model {describe(spec)} is gated: accept its licence on huggingface.co and log in "
            f"(huggingface-cli login), then try again.") from err
    except (hub_errors.RepositoryNotFoundError, hub_errors.RevisionNotFoundError,
            hub_errors.EntryNotFoundError) as err:
        raise ModelNotAvailableError(f"Model {describe(spec)} was not found on the hub: {err}") from err
    except hub_errors.OfflineModeIsEnabled as err:
        raise not_cached_error(describe(spec)) from err
    except Exception as err:  # connection / HTTP errors (their classes vary across hub versions)
        raise ModelNotAvailableError(
            f"Could not download {describe(spec)}: {err}. Check the connection or choose a local "
            f"folder.") from err
