"""The model of an archive index: the settings it is built with and how its model loads.

Both sides of an index need these: ``archive_index`` (building) and ``index_query`` (searching).
They live below both so neither imports the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..cancel import CancelToken, ProgressFn
from ..errors import ModelError


@dataclass(frozen=True)
class IndexSettings:
    """How tiles are cut and embedded; plain data so it travels to Dask workers."""

    model: str
    tile: int = 224
    overlap: int = 0
    batch_size: int = 32
    min_valid: float = 0.25
    device: str = "auto"
    offline: Optional[bool] = None
    bands: Optional[tuple[int, ...]] = None


def load_backend(settings: IndexSettings, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelToken] = None) -> Any:
    """The image-embedding backend of ``settings.model`` (cached by the runtime)."""
    from ..models.runtime import load_model

    return load_model(settings.model, task="embed_image", device=settings.device,
                      offline=settings.offline, progress=progress, cancel=cancel)


IDENTITY_KEYS = ("model_source", "model_revision", "model_file")


def model_identity(model: str) -> dict[str, str]:
    """What pins a model's embeddings: its source, revision and checkpoint file (no loading)."""
    from ..models.runtime import resolve_spec

    spec = resolve_spec(model, "embed_image")
    return {"model": model, "model_source": spec.source, "model_revision": spec.revision or "",
            "model_file": spec.filename or "", "model_arch": spec.arch or ""}


def describe_model(ident: dict) -> str:
    """'name' (source, revision, file) for a message; the source only when it is not the name."""
    name, source, revision = (ident.get(k, "") for k in ("model", "model_source", "model_revision"))
    extra = ", ".join(x for x in (source if source != name else "",
                                  f"revision {revision}" if revision else "",
                                  ident.get("model_file", "")) if x)
    return f"'{name}'" + (f" ({extra})" if extra else "")


def check_same_model(index_path: str, meta: dict, model: str) -> None:
    """Refuse to search an index built with one model with another one (other embedding space).

    Compared: the source (hub id, or local folder/file), revision and checkpoint file stored in
    the index against ``model``'s. A local model moved to another folder still matches when its
    folder (or file) name, revision and checkpoint file are the same."""
    if "model_source" not in meta:
        return
    new = model_identity(model)
    old = {k: meta.get(k, "") for k in IDENTITY_KEYS}
    if old == {k: new[k] for k in IDENTITY_KEYS} or _moved(old, new):
        return
    built = describe_model({**old, "model": meta.get("model", "")})
    raise ModelError(
        f"MODEL: the index '{index_path}' was built with the model {built}; it cannot be "
        f"searched with {describe_model(new)}: their embeddings are different spaces even at "
        f"the same size. Leave MODEL blank (or pick '{meta.get('model', '')}'), or rebuild the "
        "index with the new model (eolens:index).")


def _moved(old: dict, new: dict) -> bool:
    import os

    def local(src: str) -> bool:
        return os.path.isabs(src)

    if not (local(old["model_source"]) and local(new["model_source"])):
        return False
    name = os.path.basename(os.path.normpath(old["model_source"]))
    return (name == os.path.basename(os.path.normpath(new["model_source"]))
            and old["model_revision"] == new["model_revision"]
            and old["model_file"] == new["model_file"])
