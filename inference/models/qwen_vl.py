"""Qwen2.5-VL / Qwen3-VL: caption, single-turn chat, grounding and two-image change Q&A.

Images are encoded by the vision tower once (:meth:`QwenVLBackend.encode`) and the cached
features are passed to ``generate`` as ``mm_encoder_outputs``, so a conversation
(``chat.Conversation``) prompts the same encoding many times. torch/transformers load lazily.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import Backend
from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from ..errors import InputError, ModelError
from .qwen_parse import Version, parse_boxes
from .weights import FOLDER_REVISION
from ..results import PixelBox, PixelResult, Request

MAX_NEW_TOKENS = {"caption": 256, "chat": 512, "ground": 1024, "change_caption": 256}
_VERSIONS: dict[str, Version] = {"qwen2_5_vl": "2.5", "qwen3_vl": "3"}
_CAPTION = {
    "brief": "Describe this overhead image in one sentence.",
    "detailed": "Describe this overhead image in detail.",
    "more": "Describe this overhead image in great detail: land cover, structures, "
            "vehicles, roads and water, and where they are.",
}
_CHANGE = "Describe what changed between the two images."
_SPECIAL = re.compile(r"<\|[a-z_]+\|>")  # Qwen control tokens must not come from user text


@dataclass
class EncodedImages:
    """The vision tower's output for one or two images, reusable by any number of prompts."""

    features: Any                        # transformers ModelOutput of get_image_features
    grid_thw: Any                        # torch.LongTensor (n_images, 3): patch grid per image
    input_hw: list[tuple[int, int]]      # each image as resized for the model
    original_hw: list[tuple[int, int]]   # each image as given

    @property
    def count(self) -> int:
        """How many images were encoded."""
        return len(self.original_hw)


class PrefixCache:
    """The language model's key/value cache of one conversation so far.

    A new turn's prompt is the previous prompt + answer + the new question; when its tokens
    start with exactly the cached ones, only the new tokens are run. Anything else (a template
    that re-renders history differently) falls back to a full pass: a cache is never used for
    other tokens than its own.

    What holds for the answer (tests/test_chat.py checks each): in fp32 the logits equal a fresh
    full pass to ~1e-6 and greedy answers are identical. In bf16/fp16 (the GPU default) the
    cached keys/values are the ones the earlier turn computed, while a fresh pass recomputes
    them with another summation order, so logits agree only to a few units of bf16 rounding
    (within ``4 * 2**-8`` of the largest logit); the greedy answer is the same unless two
    candidate tokens are that close, where a fresh pass may pick the other one.
    """

    def __init__(self) -> None:
        self.ids = None          # (1, n) tokens whose keys/values are cached (n - 1 of them)
        self.past = None
        self.rope_deltas = None

    def for_prompt(self, input_ids) -> dict:
        """Generation kwargs that reuse the cache when ``input_ids`` extends the kept prefix, else {}."""
        if self.past is None or self.ids is None:
            return {}
        n = self.ids.shape[1]
        if input_ids.shape[1] <= n or not bool((input_ids[:, :n].cpu() == self.ids).all()):
            self.past = self.ids = None
            return {}
        return {"cache": self.past}

    def keep(self, sequences, past, rope_deltas) -> None:
        """Keep the sequences and key/value cache of the latest turn for the next one."""
        self.ids, self.past, self.rope_deltas = sequences.cpu(), past, rope_deltas


def load(spec: Any, path: str, device: str, dtype: Any) -> QwenVLBackend:
    """Load a Qwen2.5-VL or Qwen3-VL checkpoint folder (safetensors) onto ``device``."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(str(path), revision=FOLDER_REVISION,
                                                        dtype=dtype,
                                                        use_safetensors=True)
    processor = AutoProcessor.from_pretrained(str(path), revision=FOLDER_REVISION)
    # transformers declares PreTrainedModel.to with @wraps(torch.nn.Module.to), which mypy reads
    # as an unbound function taking the model first
    return QwenVLBackend(model.to(device).eval(), processor, spec, device, dtype)  # type: ignore[arg-type]


def user_turn(text: str, n_images: int = 0) -> dict:
    """A user message; images (before, after) come first, as in Qwen's multi-image examples."""
    text = _SPECIAL.sub("", text)
    if n_images == 0:
        return {"role": "user", "content": text}
    if n_images == 2:
        text = f"The first image is the earlier date (before), the second the later (after). {text}"
    content = [{"type": "image"}] * n_images + [{"type": "text", "text": text}]
    return {"role": "user", "content": content}


def task_prompt(request: Request) -> str:
    """The instruction sent to the model for a Backend.run request."""
    if request.task == "caption":
        return _CAPTION.get(request.options.get("detail", "detailed"), _CAPTION["detailed"])
    if request.task == "ground":
        what = request.prompt.strip() or "object"
        return (f"Locate every {what} in the image and output the bbox coordinates in JSON format, "
                f'as a list of {{"bbox_2d": [x1, y1, x2, y2], "label": "{what}"}}.')
    if request.task == "change_caption":
        return request.options.get("question") or request.prompt or _CHANGE
    return request.prompt


class QwenVLBackend(Backend):
    """Qwen2.5-VL and Qwen3-VL: captions, chat, grounding and two-image change captions."""

    family = "qwen_vl"
    tasks = frozenset({"caption", "chat", "ground", "change_caption"})

    def __init__(self, model: Any, processor: Any, spec: Any, device: str, dtype: Any) -> None:
        super().__init__(model, processor, spec, device, dtype)
        model_type = model.config.model_type
        if model_type not in _VERSIONS:
            raise ModelError(f"'{model_type}' is not a Qwen2.5-VL or Qwen3-VL model.")
        self.version: Version = _VERSIONS[model_type]

    # -- Backend -----------------------------------------------------------------------------
    def preprocess(self, request: Request) -> list[np.ndarray]:
        """The request's image (and the later image for a change caption), checked."""
        images = [request.image] + ([request.image_b] if request.task == "change_caption" else [])
        if any(im is None for im in images):
            raise InputError("This task needs an image" + (" pair." if len(images) == 2 else "."))
        if request.task in ("chat", "ground") and not request.prompt.strip():
            raise InputError("Type a question or the thing to find.")
        return [im for im in images if im is not None]  # none is None (checked above)

    def forward(self, request: Request, inputs: list[np.ndarray], progress: ProgressFn,
                cancel: CancelToken) -> tuple[str, EncodedImages]:
        """Encode the images and generate one answer; returns the text and the encoded images."""
        encoded = self.encode(inputs)
        messages = [user_turn(task_prompt(request), encoded.count)]
        limit = int(request.options.get("max_new_tokens", MAX_NEW_TOKENS[request.task]))
        return self.generate(messages, encoded, max_new_tokens=limit, progress=progress,
                             cancel=cancel), encoded

    def postprocess(self, request: Request, raw: tuple[str, EncodedImages]) -> PixelResult:
        """The answer text and the boxes parsed from it, in the original image's pixels."""
        text, encoded = raw
        boxes, warnings = self.boxes(text, encoded)
        if request.task == "ground" and not boxes:
            warnings.append(f"No '{request.prompt}' found (the model returned no boxes).")
        return PixelResult(text=text, boxes=boxes, warnings=warnings,
                           extra={"qwen_version": self.version, "input_hw": encoded.input_hw})

    # -- reusable steps (chat.Conversation uses these) ---------------------------------------
    def encode(self, images: list[np.ndarray]) -> EncodedImages:
        """Preprocess and run the vision tower once for all ``images`` (one call)."""
        import torch
        from PIL import Image

        pil = [Image.fromarray(_as_rgb(im)) for im in images]
        px = self.processor.image_processor(images=pil, return_tensors="pt")
        grid = px["image_grid_thw"]
        patch = self.processor.image_processor.patch_size
        pixels = px["pixel_values"].to(self.device, self.dtype)
        with self.lock, torch.inference_mode():
            features = self.model.model.get_image_features(pixels, grid.to(self.device),
                                                           return_dict=True)
        return EncodedImages(features=features, grid_thw=grid,
                             input_hw=[(h * patch, w * patch) for _, h, w in grid.tolist()],
                             original_hw=[(int(im.shape[0]), int(im.shape[1])) for im in images])

    def generate(self, messages: list[dict], encoded: EncodedImages, *, max_new_tokens: int,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 cache: "PrefixCache | None" = None) -> str:
        """Greedy answer to ``messages`` (image placeholders filled from ``encoded``).

        With ``cache`` (one per conversation) the tokens of earlier turns, image included, are
        not run through the language model again when the new prompt extends them exactly.
        """
        inputs = self._tokenize(messages, encoded)
        new = self.generate_ids(inputs, encoded, max_new_tokens=max_new_tokens, progress=progress,
                                cancel=cancel, cache=cache)
        return self.processor.tokenizer.decode(new, skip_special_tokens=True).strip()

    def generate_ids(self, inputs: dict, encoded: EncodedImages, *, max_new_tokens: int,
                     progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                     cache: "PrefixCache | None" = None) -> Any:
        """The new token ids for tokenised ``inputs`` (see :meth:`generate`)."""
        import torch

        prompt_len = inputs["input_ids"].shape[1]
        criteria = _token_watch(prompt_len, max_new_tokens, progress or noop_progress,
                                ensure_token(cancel))
        reuse = cache.for_prompt(inputs["input_ids"]) if cache is not None else {}
        # with a reused cache the image tokens are already in it: no vision features to insert
        vision = {} if reuse else {"mm_encoder_outputs": {"image": encoded.features}}
        with self.lock, torch.inference_mode():  # the model keeps rope deltas between calls
            if reuse and cache is not None:  # reuse is empty without a cache
                self.model.model.rope_deltas = cache.rope_deltas
            out = self.model.generate(
                **inputs, **reuse, **vision, image_grid_thw=encoded.grid_thw.to(self.device),
                max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None,
                top_k=None, stopping_criteria=[criteria], return_dict_in_generate=True,
                use_cache=True)
            if cache is not None:
                past = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
                cache.keep(out.sequences, past, self.model.model.rope_deltas)
        return out.sequences[0, prompt_len:]

    def boxes(self, text: str, encoded: EncodedImages) -> tuple[list[PixelBox], list[str]]:
        """Boxes in ``text``, in pixels of the last image (the 'after' image of a pair)."""
        if "bbox_2d" not in text:
            return [], []
        return parse_boxes(text, version=self.version, input_hw=encoded.input_hw[-1],
                           original_hw=encoded.original_hw[-1])

    def _tokenize(self, messages: list[dict], encoded: EncodedImages) -> dict:
        import torch

        proc = self.processor
        text = proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        merge = proc.image_processor.merge_size ** 2
        pieces = text.split(proc.image_token)
        if len(pieces) - 1 != encoded.count:
            raise ModelError("The chat mentions a different number of images than were encoded.")
        counts = [int(n) // merge for n in encoded.grid_thw.prod(-1).tolist()]
        text = pieces[0] + "".join(proc.image_token * n + p for n, p in zip(counts, pieces[1:]))
        ids = proc.tokenizer(text, return_tensors="pt")["input_ids"]
        mm = torch.tensor(proc.create_mm_token_type_ids(ids), dtype=torch.int32)
        return {"input_ids": ids.to(self.device), "mm_token_type_ids": mm.to(self.device),
                "attention_mask": torch.ones_like(ids).to(self.device)}


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"Expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}.")
    return np.ascontiguousarray(image)


def _token_watch(prompt_len: int, max_new_tokens: int, progress: ProgressFn, cancel: CancelToken):
    """A StoppingCriteria reporting per-token progress; raises Cancelled at the next token."""
    import torch
    from transformers import StoppingCriteria

    class _Watch(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            progress(100.0 * (input_ids.shape[1] - prompt_len) / max_new_tokens)
            cancel.check()
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return _Watch()
