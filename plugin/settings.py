"""User settings in QgsSettings, handed to workers as a plain frozen dataclass."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace

from qgis.core import QgsSettings

from ..inference.models.registry import DEFAULTS
from ..inference.tasks import ROLES, Task, as_task

PREFIX = "eolens/"
RENAMED = {"model_features": "model_change_features"}   # new key -> the key an older release wrote
CACHE_ENV = "EOLENS_GDAL_CACHE_MB"   # inference.io.raster_read.CACHE_ENV (not imported: no rasterio here)


@dataclass(frozen=True)
class Settings:
    # one model per role, named model_<task> (inference/tasks.py ROLES; a test keeps them equal)
    model_caption: str = DEFAULTS[Task.CAPTION]
    model_detect: str = DEFAULTS[Task.DETECT]
    model_segment: str = DEFAULTS[Task.SEGMENT]
    model_segment_prompt: str = DEFAULTS[Task.SEGMENT_PROMPT]
    model_chat: str = DEFAULTS[Task.CHAT]
    model_change_caption: str = DEFAULTS[Task.CHANGE_CAPTION]
    model_features: str = DEFAULTS[Task.FEATURES]
    model_search: str = DEFAULTS[Task.SEARCH]
    device: str = "auto"            # auto | cuda | cpu
    offline: bool = False           # load only from the cache or local folders
    models_dir: str = ""            # a folder of model folders for air-gapped machines
    cache_dir: str = ""             # Hugging Face cache (empty = HF default)
    allow_remote_code: bool = False
    fit_to_model: bool = True       # decimate big captures to the model's input size
    rendered_capture: bool = False  # capture what the canvas shows (styles, any provider)
    max_side: int = 1024
    documents_dir: str = ""         # the Chat tab's documents folder (grounded answers)
    gdal_cache_mb: int = 128        # GDAL's block cache while EO Lens reads rasters

    def model_for(self, task: Task | str) -> str:
        """The model to use for ``task`` (one of ``ROLES``); a bare name found in ``models_dir``
        becomes that folder."""
        task = as_task(task)
        if task not in ROLES:
            raise ValueError(f"No model setting for the task '{task}'; roles: {', '.join(ROLES)}.")
        name = getattr(self, f"model_{task.value}")
        if self.models_dir and not os.path.isabs(name):
            local = os.path.join(self.models_dir, name)
            if os.path.exists(local):
                return local
        return name


def load() -> Settings:
    s, default = QgsSettings(), Settings()
    values = {}
    for f in fields(Settings):
        old = RENAMED.get(f.name)
        fallback = s.value(PREFIX + old, getattr(default, f.name)) if old else getattr(default, f.name)
        raw = s.value(PREFIX + f.name, fallback)
        values[f.name] = _coerce(raw, type(getattr(default, f.name)))
    return Settings(**values)


def save(settings: Settings) -> None:
    s = QgsSettings()
    for key, value in asdict(settings).items():
        s.setValue(PREFIX + key, value)


def update(**changes) -> Settings:
    new = replace(load(), **changes)
    save(new)
    return new


def apply_environment(settings: Settings) -> None:
    """huggingface_hub reads its cache location at import: set it before the first model loads.

    Offline mode is not set here (HF_HUB_OFFLINE is import-time too); it is passed to every load.
    """
    if settings.cache_dir:
        os.environ.setdefault("HF_HUB_CACHE", settings.cache_dir)
    os.environ[CACHE_ENV] = str(max(16, int(settings.gdal_cache_mb)))


def env_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def offline_state(settings: Settings) -> tuple[bool, str]:
    """(offline?, why): the one place that decides offline mode for the dock and Processing.

    huggingface_hub obeys HF_HUB_OFFLINE from the environment whatever is passed to it, so the
    environment variable turns offline mode on too; the message names whichever did."""
    if settings.offline:
        return True, "the EO Lens settings (Settings… ▸ Offline)"
    if env_offline():
        return True, "the HF_HUB_OFFLINE environment variable"
    return False, ""


def is_offline(settings: Settings) -> bool:
    return offline_state(settings)[0]


def _coerce(raw, kind):
    if kind is bool:
        return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
    if kind is int:
        return int(raw)
    return str(raw)
