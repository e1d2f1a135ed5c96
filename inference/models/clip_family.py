"""CLIP-style dual encoders: open_clip remote-sensing checkpoints and HF CLIP / SigLIP.

Tasks: ``embed_image`` (``request.image`` or ``options["images"]``), ``embed_text``
(``request.prompt`` or ``options["texts"]``), ``classify`` (zero-shot: image(s) +
``options["classes"]``) and ``search`` (image(s) ranked against ``request.prompt``). Scene-scale
search over tiles lives in ``search.py`` and uses :meth:`ClipBackend.encode_images` directly.

open_clip path convention (agreed with ``runtime.py``, family ``"openclip"``):

* a folder holding ``open_clip_config.json`` (``{"model_cfg": {...}, "arch": "name",
  "preprocess_cfg": {...}}`` as in hf-hub open_clip repos) and/or exactly one
  ``*.pt``/``*.pth``/``*.bin``/``*.safetensors`` checkpoint (``spec.filename`` picks one when
  there are several); or
* a bare checkpoint file (an ``open_clip_config.json`` beside it is used as above).

The architecture is ``spec.arch`` if set, else the folder config, else inferred from the file
name (:func:`infer_arch`: ``RS5M_ViT-B-32.pt`` -> ``ViT-B-32-quickgelu``). The QuickGELU trap:
OpenAI-initialised fine-tunes (GeoRSCLIP, SkyCLIP) must run with ``-quickgelu``; open_clip would
load them with GELU *silently* and the embeddings degrade. State dicts are read with
``weights_only=True``; a checkpoint that does not fit the arch raises :class:`ModelError`.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from .backend import Backend
from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from ..errors import InputError, ModelError, ModelNotAvailableError, UnsafeModelError
from ..results import PixelResult, Request

# Zero-shot prompts for overhead imagery; the phrase embedding is the normalised template mean.
RS_TEMPLATES: tuple[str, ...] = (
    "a satellite image of {}.",
    "an aerial image of {}.",
    "a remote sensing image of {}.",
)
_CHECKPOINT_EXTS = (".pt", ".pth", ".bin", ".safetensors")
# Checkpoint families fine-tuned from OpenAI CLIP weights, hence QuickGELU...
_OPENAI_INIT_MARKERS = ("rs5m", "georsclip", "skyclip", "openai")
# ...but only for the architectures OpenAI released.
_OPENAI_ARCHS = frozenset({"RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B-32",
                           "ViT-B-16", "ViT-L-14", "ViT-L-14-336"})


def _l2(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _batches(items: Sequence, size: int):
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + max(1, size)]


class ClipBackend(Backend):
    """Shared dual-encoder logic; subclasses supply the model-specific encoders."""

    tasks = frozenset({"embed_image", "embed_text", "classify", "search"})

    def __init__(self, model: Any, processor: Any, spec: Any, device: str, dtype: Any) -> None:
        super().__init__(model, processor, spec, device, dtype)
        self.load_warnings: list[str] = []

    # --- model-specific hooks -------------------------------------------------------------
    def _pixels(self, images: Sequence[np.ndarray], whole: bool = False) -> dict:
        """uint8 (H, W, 3) arrays -> the model's image inputs on device, preprocessed as the
        checkpoint says; ``whole``: the entire image, never centre-cropped (patch grids)."""
        raise NotImplementedError

    def _image_features(self, inputs: dict, tokens: bool):
        """-> (projected pooled embeddings (N, D), patch grids (N, h, w, W) or None)."""
        raise NotImplementedError

    def _text_features(self, texts: Sequence[str]):
        raise NotImplementedError

    def _logits_params(self) -> tuple[float, Optional[float]]:
        """(logit scale, logit bias); a bias means SigLIP-style sigmoid scores."""
        bias = getattr(self.model, "logit_bias", None)
        return (float(self.model.logit_scale.detach().exp()),
                None if bias is None else float(bias.detach().reshape(-1)[0]))

    # --- public helpers -------------------------------------------------------------------
    def encode_images(self, images: Sequence[np.ndarray], batch_size: int = 32,
                      cancel: Optional[CancelToken] = None,
                      progress: Optional[ProgressFn] = None) -> np.ndarray:
        """(N, D) float32, L2-normalised; cancel checked before every batch."""
        out = [emb for emb, _ in self._encode(images, batch_size, cancel, progress, tokens=False)]
        return _l2(np.concatenate(out)) if out else np.zeros((0, 0), np.float32)

    def patch_tokens(self, images: Sequence[np.ndarray], batch_size: int = 32,
                     cancel: Optional[CancelToken] = None) -> np.ndarray:
        """(N, h, w, W) per-patch features of the last vision layer (not projected), covering
        the whole image (resized to the model's input, not centre-cropped)."""
        out = [tok for _, tok in self._encode(images, batch_size, cancel, None, tokens=True)]
        return np.concatenate(out)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(N, D) float32, L2-normalised."""
        import torch

        out = []
        with torch.inference_mode():
            for chunk in _batches(list(texts), batch_size):
                out.append(self._text_features(chunk).float().cpu().numpy())
        return _l2(np.concatenate(out))

    def embed_phrases(self, phrases: Sequence[str],
                      templates: Sequence[str] = RS_TEMPLATES) -> np.ndarray:
        """(P, D) one normalised embedding per phrase, averaged over prompt templates."""
        templates = list(templates) or ["{}"]
        flat = self.encode_texts([t.format(p) for p in phrases for t in templates])
        return _l2(flat.reshape(len(phrases), len(templates), -1).mean(axis=1))

    def class_scores(self, similarity: np.ndarray) -> np.ndarray:
        """Cosine similarities (..., C) -> class probabilities the way the model was trained."""
        scale, bias = self._logits_params()
        logits = similarity * scale
        if bias is not None:
            return 1.0 / (1.0 + np.exp(-(logits + bias)))
        logits = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=-1, keepdims=True)

    def _encode(self, images, batch_size, cancel, progress, tokens):
        import torch

        cancel, progress = ensure_token(cancel), progress or noop_progress
        images = list(images)
        done = 0
        for chunk in _batches(images, batch_size):
            cancel.check()
            with torch.inference_mode():
                emb, tok = self._image_features(self._pixels(chunk, whole=tokens), tokens)
            done += len(chunk)
            progress(100.0 * done / len(images))
            yield (emb.float().cpu().numpy(),
                   None if tok is None else tok.float().cpu().numpy())

    # --- Backend interface ----------------------------------------------------------------
    def preprocess(self, request: Request) -> dict:
        """Collect the images and texts the request's task needs (embed, classify or search)."""
        opts = request.options
        inputs: dict = {}
        if request.task in ("embed_image", "classify", "search"):
            images = opts.get("images")
            if images is None and request.image is None:
                raise InputError(f"'{request.task}' needs an image.")
            inputs["images"] = [_as_rgb(i) for i in (images if images is not None
                                                      else [request.image])]
        if request.task == "embed_text":
            texts = opts.get("texts") or ([request.prompt] if request.prompt else [])
            if not texts:
                raise InputError("'embed_text' needs a prompt.")
            inputs["texts"] = list(texts)
        if request.task == "classify":
            classes = list(opts.get("classes") or [])
            if not classes:
                raise InputError("Zero-shot classification needs a list of classes.")
            inputs["classes"] = classes
        if request.task == "search" and not request.prompt.strip():
            raise InputError("Search needs a text query.")
        return inputs

    def forward(self, request: Request, inputs: dict, progress: ProgressFn,
                cancel: CancelToken) -> dict:
        """Embed the images and texts in batches; returns the raw embeddings."""
        batch = int(request.options.get("batch_size", 32))
        templates = request.options.get("templates", RS_TEMPLATES)
        raw: dict = {}
        if "images" in inputs:
            raw["image_emb"] = self.encode_images(inputs["images"], batch, cancel, progress)
        if "texts" in inputs:
            raw["text_emb"] = self.encode_texts(inputs["texts"])
        if request.task == "classify":
            raw["text_emb"] = self.embed_phrases(inputs["classes"], templates)
        if request.task == "search":
            raw["text_emb"] = self.embed_phrases([request.prompt], templates)
        return raw

    def postprocess(self, request: Request, raw: dict) -> PixelResult:
        # A single request.image gives 1-D outputs; options["images"] keeps the batch axis.
        """Embeddings or class scores as a PixelResult (1-D for a single image)."""
        single = "images" not in request.options and "texts" not in request.options
        squeeze = (lambda a: a[0]) if single else (lambda a: a)
        result = PixelResult(warnings=list(self.load_warnings))
        if request.task == "embed_image":
            result.embedding = squeeze(raw["image_emb"])
        elif request.task == "embed_text":
            result.embedding = squeeze(raw["text_emb"])
        elif request.task == "classify":
            sim = raw["image_emb"] @ raw["text_emb"].T
            probs = self.class_scores(sim)
            classes = list(request.options["classes"])
            result.scores = squeeze(probs)
            result.text = classes[int(np.argmax(probs[0]))] if single else ""
            result.extra = {"labels": classes, "similarity": squeeze(sim),
                            "best": [classes[i] for i in probs.argmax(axis=1)]}
        else:  # search
            result.scores = squeeze(raw["image_emb"] @ raw["text_emb"][0])
            result.embedding = raw["text_emb"][0]
        return result


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] < 3:
        raise InputError(f"Expected an (H, W, 3) image, got shape {image.shape}.")
    return image[..., :3]


# --- open_clip ------------------------------------------------------------------------------

class OpenClipBackend(ClipBackend):
    """A CLIP model loaded with open_clip (e.g. GeoRSCLIP and RemoteCLIP ``.pt`` checkpoints)."""

    family = "openclip"

    def __init__(self, model, tokenizer, spec, device, dtype, arch: str) -> None:
        super().__init__(model, tokenizer, spec, device, dtype)
        import open_clip
        from open_clip.transform import PreprocessCfg, image_transform_v2, merge_preprocess_dict

        self.arch = arch
        # The checkpoint's own preprocess_cfg (size, mean/std, resize_mode, interpolation, fill).
        cfg = PreprocessCfg(**merge_preprocess_dict(PreprocessCfg(),
                                                    open_clip.get_model_preprocess_cfg(model)))
        self.preprocess_cfg = cfg
        whole = PreprocessCfg(**merge_preprocess_dict(cfg, {"resize_mode": "squash"}))
        # open_clip's own eval transform minus its last three steps (convert, ToTensor,
        # Normalize), which run once per batch below in the same order of operations
        self._geometry = image_transform_v2(cfg, is_train=False).transforms[:-3]
        self._whole = image_transform_v2(whole, is_train=False).transforms[:-3]
        size = cfg.size
        self._size = (size, size) if isinstance(size, int) else tuple(size)

    def _pixels(self, images, whole=False):
        import torch

        steps = self._whole if whole else self._geometry
        batch = np.stack([_apply(steps, _as_rgb(image), self._size) for image in images])
        t = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).to(torch.float32)
        mean = torch.tensor(self.preprocess_cfg.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.preprocess_cfg.std, device=self.device).view(1, 3, 1, 1)
        t = t.div_(255.0).sub_(mean).div_(std)
        return {"pixel_values": t.contiguous().to(self.dtype)}

    def _image_features(self, inputs, tokens):
        pixels, visual = inputs["pixel_values"], self.model.visual
        if not tokens:
            return self.model.encode_image(pixels), None
        visual.output_tokens = True
        try:
            pooled, tok = visual(pixels)
        finally:
            visual.output_tokens = False
        return pooled, _square_grid(tok)

    def _text_features(self, texts):
        return self.model.encode_text(self.processor(list(texts)).to(self.device))


def _apply(steps, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 through open_clip's resize/crop steps (PIL); as is when already ``size``."""
    if image.shape[:2] == tuple(size):
        return np.ascontiguousarray(image)
    from PIL import Image

    pil = Image.fromarray(np.ascontiguousarray(image))
    for step in steps:
        pil = step(pil)
    return np.asarray(pil.convert("RGB"))


def _square_grid(tokens):
    """(N, L, W) patch tokens of a square input -> (N, s, s, W)."""
    n, length, width = tokens.shape
    side = int(round(length ** 0.5))
    if side * side != length:
        raise ModelError(f"Cannot arrange {length} patch tokens on a square grid.")
    return tokens.reshape(n, side, side, width)


def infer_arch(filename: str, known: Optional[Sequence[str]] = None) -> str:
    """The open_clip architecture a checkpoint file name implies, QuickGELU trap included.

    ``RS5M_ViT-B-32.pt`` -> ``ViT-B-32-quickgelu`` (OpenAI-initialised);
    ``RS5M_ViT-H-14.pt`` -> ``ViT-H-14`` (OpenAI never released an H-14);
    ``RemoteCLIP-ViT-B-32.pt`` -> ``ViT-B-32`` (as its authors load it). ``known`` defaults to
    open_clip's built-in configs, listed without importing open_clip (so no torch).
    """
    known = list(known) if known is not None else _builtin_archs()
    name = re.sub(r"[_\s]+", "-", Path(filename).name)
    name = re.sub(r"vit-?([a-z]+)-?(\d+)", r"vit-\1-\2", name, flags=re.IGNORECASE).lower()
    matches = [m for m in known if m.lower() in name]
    if not matches:
        raise ModelError(f"Cannot tell the open_clip architecture of '{Path(filename).name}'. "
                         "Set it explicitly, e.g. 'ViT-B-32-quickgelu'.")
    arch = max(matches, key=len)
    openai_init = "quickgelu" in name or any(m in name for m in _OPENAI_INIT_MARKERS)
    if arch in _OPENAI_ARCHS and openai_init and "laion" not in name:
        return f"{arch}-quickgelu"
    return arch


def _builtin_archs() -> list[str]:
    import importlib.util

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "model_configs"
    return sorted(p.stem for p in folder.glob("*.json"))


def _read_folder_config(path: Path) -> Optional[dict]:
    import json

    cfg_file = path / "open_clip_config.json"
    if not (path.is_dir() and cfg_file.is_file()):
        return None
    try:
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ModelError(f"'{cfg_file}' is not valid JSON: {err}") from err
    if "model_cfg" not in cfg:
        raise ModelError(f"'{cfg_file}' has no 'model_cfg'.")
    return cfg


def _find_checkpoint(path: Path, spec: Any) -> Path:
    if path.is_file():
        return path
    if not path.is_dir():
        raise ModelNotAvailableError(f"No open_clip model at '{path}'.")
    filename = getattr(spec, "filename", None)
    if filename:
        for cand in (path / filename, path / Path(filename).name):
            if cand.is_file():
                return cand
    found = sorted(p for p in path.iterdir() if p.suffix in _CHECKPOINT_EXTS and p.is_file())
    if len(found) == 1:
        return found[0]
    if not found:
        raise ModelNotAvailableError(f"No open_clip checkpoint (.pt/.safetensors) in '{path}'.")
    raise ModelError(f"Several checkpoints in '{path}' ({', '.join(p.name for p in found)}); "
                     "name one in the model's filename.")


def _create_openclip(path: Path, spec: Any, ckpt: Path):
    """Instantiate the architecture without weights; returns (model, tokenizer, arch name)."""
    import open_clip

    folder = path.parent if path.is_file() else path  # a config next to a bare file counts
    folder_cfg = _read_folder_config(folder)
    arch = getattr(spec, "arch", None)
    if arch or folder_cfg is None:
        arch = arch or infer_arch(ckpt.name, open_clip.list_models())
        name, quick = arch, False
    else:
        arch = folder_cfg.get("arch") or folder.name
        name, quick = f"local-dir:{folder}", arch.endswith("-quickgelu")
    try:
        with _quiet_random_init():  # the weights are loaded right after (_load_weights)
            model = open_clip.create_model(name, pretrained=None, load_weights=False,
                                           force_quick_gelu=quick)
        tokenizer = open_clip.get_tokenizer(name)
    except RuntimeError as err:
        raise ModelError(f"Unknown open_clip architecture '{arch}' for '{ckpt.name}': {err}") from err
    if folder_cfg and folder_cfg.get("preprocess_cfg"):  # the checkpoint's resize rules win
        from open_clip.transform import merge_preprocess_dict

        open_clip.set_model_preprocess_cfg(model, merge_preprocess_dict(
            open_clip.get_model_preprocess_cfg(model), folder_cfg["preprocess_cfg"]))
    return model, tokenizer, arch


class _RandomInitFilter(logging.Filter):
    """Drops open_clip's "No pretrained weights loaded ... initialized randomly" record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("No pretrained weights loaded")


@contextmanager
def _quiet_random_init() -> Iterator[None]:
    """Only around the architecture's creation: open_clip logs (on the root logger) that the
    model is random, which is true for a moment and misleading, since weights follow."""
    log_filter = _RandomInitFilter()
    loggers = [logging.getLogger(), logging.getLogger("open_clip")]
    for logger in loggers:
        logger.addFilter(log_filter)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(log_filter)


def _load_weights(model, ckpt: Path, arch: str) -> list[str]:
    """Load ``ckpt`` with weights_only; returns warnings about ignored keys."""
    import pickle  # nosec B403: only to catch the refusal of weights_only loads

    import open_clip

    try:
        keys = open_clip.load_checkpoint(model, str(ckpt), strict=False, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeModelError(f"'{ckpt.name}' holds pickled code, which EO Lens refuses to "
                               "load; use a plain state dict or safetensors.") from err
    except (AssertionError, RuntimeError, KeyError, ValueError) as err:
        raise ModelError(f"Checkpoint '{ckpt.name}' does not fit open_clip architecture "
                         f"'{arch}': {str(err).splitlines()[0][:300]}") from err
    if keys.missing_keys:
        raise ModelError(f"Checkpoint '{ckpt.name}' does not fit open_clip architecture "
                         f"'{arch}': missing {', '.join(keys.missing_keys[:5])}.")
    if keys.unexpected_keys:
        return [f"Ignored {len(keys.unexpected_keys)} extra tensors in '{ckpt.name}'."]
    return []


def load_openclip(spec: Any, path: Any, device: str, dtype: Any) -> OpenClipBackend:
    """Build an :class:`OpenClipBackend` from a folder or bare checkpoint (see module doc)."""
    path = Path(path)
    ckpt = _find_checkpoint(path, spec)
    model, tokenizer, arch = _create_openclip(path, spec, ckpt)
    warnings = _load_weights(model, ckpt, arch)
    model = model.to(device=device, dtype=dtype).eval()
    backend = OpenClipBackend(model, tokenizer, spec, device, dtype, arch)
    backend.load_warnings = warnings
    return backend


# --- transformers CLIP / SigLIP -------------------------------------------------------------

class HfClipBackend(ClipBackend):
    """A CLIP or SigLIP model loaded with transformers' ``AutoModel`` (e.g. Git-RSCLIP)."""

    family = "hfclip"

    def __init__(self, model, processor, spec, device, dtype) -> None:
        super().__init__(model, processor, spec, device, dtype)
        # SigLIP was trained on max_length-padded text; CLIP on EOS-pooled, any padding.
        self._siglip = model.config.model_type.startswith("siglip")

    def _pixels(self, images, whole=False):
        proc = self.processor.image_processor
        kwargs = {}
        crop = getattr(proc, "crop_size", None) if getattr(proc, "do_center_crop", False) else None
        if whole and crop:  # CLIP: resize straight to the crop size instead of cropping
            kwargs = {"do_center_crop": False,
                      "size": {"height": crop["height"], "width": crop["width"]}}
        # the processor, not its image_processor: it applies the model's own call defaults
        # (SigLIP2: max_num_patches)
        out = self.processor(images=[_as_rgb(i) for i in images], return_tensors="pt", **kwargs)
        # everything the processor returns: SigLIP2 (NaFlex) adds pixel_attention_mask and
        # spatial_shapes, without which its patches are read as one padded square
        return {k: v.to(device=self.device, dtype=self.dtype) if v.is_floating_point()
                else v.to(self.device) for k, v in out.items()}

    def _image_features(self, inputs, tokens):
        out = self.model.get_image_features(**inputs)
        if not tokens:
            return out.pooler_output, None
        tok = out.last_hidden_state
        if "spatial_shapes" in inputs:  # NaFlex: each image has its own (h, w) patch grid
            shapes = {tuple(int(v) for v in hw) for hw in inputs["spatial_shapes"]}
            if len(shapes) != 1:
                raise ModelError("Patch features of images of different shapes come in one "
                                 "batch each; pass images of one size.")
            (h, w), = shapes
            return out.pooler_output, tok[:, :h * w].reshape(tok.shape[0], h, w, -1)
        side = int(round((tok.shape[1] - 1) ** 0.5))
        if side * side == tok.shape[1] - 1:  # drop the CLS token (CLIP); SigLIP has none
            tok = tok[:, 1:]
        return out.pooler_output, _square_grid(tok)

    def _text_features(self, texts):
        kwargs = ({"padding": "max_length", "max_length": 64} if self._siglip
                  else {"padding": True})
        enc = self.processor.tokenizer(list(texts), truncation=True, return_tensors="pt", **kwargs)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        return self.model.get_text_features(**enc).pooler_output


def load_hfclip(spec: Any, path: Any, device: str, dtype: Any) -> HfClipBackend:
    """Build an :class:`HfClipBackend` from a transformers CLIP/SigLIP folder."""
    from transformers import AutoModel, AutoProcessor

    from .weights import FOLDER_REVISION, weights_kwargs

    try:
        model = AutoModel.from_pretrained(str(path), revision=FOLDER_REVISION, dtype=dtype,
                                          trust_remote_code=False,
                                          **weights_kwargs(path))
        processor = AutoProcessor.from_pretrained(str(path), revision=FOLDER_REVISION,
                                                  trust_remote_code=False)
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(f"Cannot load a CLIP/SigLIP model from '{path}': {err}") from err
    if not hasattr(model, "get_image_features") or not hasattr(model, "get_text_features"):
        raise ModelError(f"'{path}' is a {type(model).__name__}, not a CLIP-style dual encoder.")
    return HfClipBackend(model.to(device).eval(), processor, spec, device, dtype)
