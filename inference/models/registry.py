"""Named models: where each comes from, what it can do, and which module loads it.

A user can also pass any hub id (``org/name`` or ``org/name@revision``) or a local folder/file;
``runtime.resolve_spec`` turns those into a :class:`ModelSpec` by reading ``config.json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..tasks import Task, as_tasks

# family -> "module:function" that builds a Backend: load(spec, path, device, dtype) -> Backend
FAMILY_LOADERS: dict[str, str] = {
    "florence2": "florence:load",
    "openclip": "clip_family:load_openclip",
    "hfclip": "clip_family:load_hfclip",
    "qwen_vl": "qwen_vl:load",
    "sam": "sam_family:load_sam",
    "sam2": "sam_family:load_sam2",
    "sam3": "sam_family:load_sam3",
    "grounding_dino": "grounding_dino:load_grounding_dino",
    "dinov2": "dinov2:load_dinov2",
}

# config.json "model_type" -> family, for hub ids and folders not in the registry
MODEL_TYPE_FAMILY: dict[str, str] = {
    "florence2": "florence2",
    "clip": "hfclip",
    "siglip": "hfclip",
    "siglip2": "hfclip",
    "qwen2_5_vl": "qwen_vl",
    "qwen3_vl": "qwen_vl",
    "sam": "sam",
    "sam2": "sam2",
    "sam2_video": "sam2",      # the hub SAM2.1 checkpoints are saved as sam2_video
    "sam3": "sam3",
    "sam3_video": "sam3",
    "grounding-dino": "grounding_dino",
    "dinov2": "dinov2",
}


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from and what it can do."""

    name: str                         # registry key or the id/path the user gave
    family: str                       # key of FAMILY_LOADERS
    source: str                       # hub id, local folder, or local/hub file
    revision: Optional[str] = None    # pinned hub revision (40-hex commit preferred)
    filename: Optional[str] = None    # single-file checkpoints (open_clip .pt) inside a hub repo
    arch: Optional[str] = None        # open_clip architecture, e.g. "ViT-B-32-quickgelu"
    tasks: tuple[Task | str, ...] = ()   # Tasks after __post_init__
    licence: str = ""
    size_mb: int = 0
    device_hint: str = "cpu"          # "cpu" = fine on CPU, "gpu" = needs a GPU to be usable
    trust_remote_code: bool = False   # only honoured with a pinned revision and user opt-in
    gated: bool = False
    extra: tuple = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", as_tasks(self.tasks))  # a misspelt task fails here


_CAPTION = (Task.CAPTION, Task.DETECT, Task.GROUND, Task.SEGMENT)
_CLIP = (Task.EMBED_IMAGE, Task.EMBED_TEXT, Task.CLASSIFY, Task.SEARCH)

REGISTRY: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec("florence-2-base", "florence2", "florence-community/Florence-2-base",
              tasks=_CAPTION, licence="MIT", size_mb=930),
    ModelSpec("florence-2-large", "florence2", "florence-community/Florence-2-large",
              tasks=_CAPTION, licence="MIT", size_mb=3100, device_hint="gpu"),
    ModelSpec("georsclip-b32", "openclip", "Zilun/GeoRSCLIP", filename="ckpt/RS5M_ViT-B-32.pt",
              arch="ViT-B-32-quickgelu", tasks=_CLIP, licence="see model card", size_mb=600),
    ModelSpec("georsclip-h14", "openclip", "Zilun/GeoRSCLIP", filename="ckpt/RS5M_ViT-H-14.pt",
              arch="ViT-H-14", tasks=_CLIP, licence="see model card", size_mb=3900, device_hint="gpu"),
    ModelSpec("remoteclip-b32", "openclip", "chendelong/RemoteCLIP",
              filename="RemoteCLIP-ViT-B-32.pt", arch="ViT-B-32", tasks=_CLIP,
              licence="Apache-2.0", size_mb=600),
    ModelSpec("git-rsclip", "hfclip", "lcybuaa/Git-RSCLIP", tasks=_CLIP,
              licence="Apache-2.0", size_mb=3000, device_hint="gpu"),
    ModelSpec("qwen3-vl-2b", "qwen_vl", "Qwen/Qwen3-VL-2B-Instruct",
              tasks=("caption", "chat", "ground", "change_caption"), licence="Apache-2.0",
              size_mb=4300, device_hint="gpu"),
    ModelSpec("qwen3-vl-8b", "qwen_vl", "Qwen/Qwen3-VL-8B-Instruct",
              tasks=("caption", "chat", "ground", "change_caption"), licence="Apache-2.0",
              size_mb=17000, device_hint="gpu"),
    ModelSpec("qwen2.5-vl-3b", "qwen_vl", "Qwen/Qwen2.5-VL-3B-Instruct",
              tasks=("caption", "chat", "ground", "change_caption"),
              licence="Qwen Research", size_mb=7500, device_hint="gpu"),
    ModelSpec("sam2.1-hiera-tiny", "sam2", "facebook/sam2.1-hiera-tiny",
              tasks=("segment_prompt",), licence="Apache-2.0", size_mb=160),
    ModelSpec("sam-vit-base", "sam", "facebook/sam-vit-base",
              tasks=("segment_prompt",), licence="Apache-2.0", size_mb=375),
    ModelSpec("sam3", "sam3", "facebook/sam3", tasks=("segment_text",),
              licence="SAM licence (gated)", size_mb=3400, device_hint="gpu", gated=True),
    ModelSpec("grounding-dino-tiny", "grounding_dino", "IDEA-Research/grounding-dino-tiny",
              tasks=("detect",), licence="Apache-2.0", size_mb=690),
    ModelSpec("dinov2-small", "dinov2", "facebook/dinov2-small", tasks=("features",),
              licence="Apache-2.0", size_mb=90),
]}

# Per-task defaults (docs/models.md: CPU-capable first).
DEFAULTS: dict[str, str] = {   # keyed by Task (a str)
    Task.CAPTION: "florence-2-base",
    Task.DETECT: "florence-2-base",
    Task.SEGMENT: "florence-2-base",
    Task.SEGMENT_PROMPT: "sam2.1-hiera-tiny",
    Task.SEARCH: "georsclip-b32",
    Task.CHAT: "qwen3-vl-2b",
    Task.CHANGE_CAPTION: "qwen3-vl-2b",
    Task.FEATURES: "dinov2-small",
}
