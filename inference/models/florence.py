"""Florence-2 backend: caption, detect, ground and segment with the native transformers classes
(florence-community layout, no remote code)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import florence_parse
from .backend import Backend
from ..cancel import CancelToken, ProgressFn
from ..errors import InputError, ModelError, is_oom, translate_error
from ..results import PixelResult, Request

CAPTION_TOKENS = {"brief": "<CAPTION>", "detailed": "<DETAILED_CAPTION>",
                  "more": "<MORE_DETAILED_CAPTION>"}
# long enough for a paragraph caption or a dense polygon; generation stops at EOS anyway
MAX_NEW_TOKENS = {"caption": 256, "detect": 1024, "ground": 1024, "segment": 1024}
# the model card's 3 beams on a GPU; greedy on CPU, where beams cost ~3x the decoding time
NUM_BEAMS = {"cuda": 3, "cpu": 1}


PROMPTED = ("<OPEN_VOCABULARY_DETECTION>", "<CAPTION_TO_PHRASE_GROUNDING>",
            "<REFERRING_EXPRESSION_SEGMENTATION>")


def task_token(request: Request) -> str:
    """The Florence task token for a request (PROMPTED tokens are followed by the prompt)."""
    prompt = request.prompt.strip()
    if request.task == "caption":
        detail = request.options.get("detail", "more")
        if detail not in CAPTION_TOKENS:
            raise InputError(f"Caption detail must be one of {', '.join(CAPTION_TOKENS)}, not '{detail}'.")
        return CAPTION_TOKENS[detail]
    if request.task == "detect":
        return "<OPEN_VOCABULARY_DETECTION>" if prompt else "<OD>"
    if not prompt:
        raise InputError(f"'{request.task}' needs a text prompt, e.g. 'airplanes'.")
    return {"ground": "<CAPTION_TO_PHRASE_GROUNDING>",
            "segment": "<REFERRING_EXPRESSION_SEGMENTATION>"}[request.task]


def _stopping_criteria(progress: ProgressFn, cancel: CancelToken, max_new_tokens: int) -> Any:
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _CancelAndProgress(StoppingCriteria):
        """Called once per generated token: report it, then stop at once if cancelled."""

        def __init__(self) -> None:
            self.tokens = 0

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            self.tokens += 1
            progress(min(99.0, 100.0 * self.tokens / max_new_tokens))
            cancel.check()
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_CancelAndProgress()])


class FlorenceBackend(Backend):
    """Florence-2: captions, phrase grounding, open-vocabulary detection and referring segmentation."""

    family = "florence2"
    tasks = frozenset({"caption", "detect", "ground", "segment"})

    def preprocess(self, request: Request) -> dict:
        """The task token (plus prompt) and the RGB image through the processor."""
        image = request.image
        if image is None or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError("Florence-2 needs an (H, W, 3) uint8 RGB image.")
        token = task_token(request)
        text = token + request.prompt.strip() if token in PROMPTED else token
        inputs = self.processor(text=text, images=image, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        return {"inputs": inputs, "token": token, "size": (image.shape[1], image.shape[0])}

    def generate_kwargs(self, request: Request) -> dict:
        """Generation settings for a request (also used by the benchmark's bare baseline)."""
        return {"max_new_tokens": int(request.options.get("max_new_tokens",
                                                          MAX_NEW_TOKENS[request.task])),
                "num_beams": int(request.options.get("num_beams", self.default_beams())),
                "do_sample": False}

    def default_beams(self) -> int:
        """Beam count for generation: more on a GPU than on a CPU."""
        return NUM_BEAMS["cuda"] if str(self.device).startswith("cuda") else NUM_BEAMS["cpu"]

    def forward(self, request: Request, inputs: dict, progress: ProgressFn,
                cancel: CancelToken) -> dict:
        """Generate the answer text, honouring Cancel per token."""
        text = self._generate(inputs["inputs"], request, progress, cancel)
        return {**inputs, "text": text}

    def _generate(self, model_inputs: dict, request: Request, progress: ProgressFn,
                  cancel: CancelToken) -> str:
        """``generate`` with per-token progress and cancel; out-of-memory made readable."""
        import torch

        kwargs = self.generate_kwargs(request)
        stop = _stopping_criteria(progress, cancel, kwargs["max_new_tokens"])
        try:
            with torch.inference_mode():
                ids = self.model.generate(**model_inputs, stopping_criteria=stop, **kwargs)
        except Exception as err:
            if is_oom(err):
                raise translate_error(err, self.spec.name, self.device) from err
            raise
        progress(100.0)
        return self.processor.batch_decode(ids, skip_special_tokens=False)[0]

    def encode(self, image: np.ndarray) -> Any:
        """Vision-tower features of one image, for :class:`FlorenceSession`."""
        import torch

        pixels = self.processor.image_processor(images=image, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            return self.model.get_image_features(pixels.to(self.device, self.dtype)).pooler_output

    def postprocess(self, request: Request, raw: dict) -> PixelResult:
        """Parse the generated text into pixel boxes, polygons or a caption."""
        width, height = raw["size"]
        return florence_parse.parse(raw["token"], raw["text"], width, height,
                                    label=request.prompt.strip(), banned=self.banned_phrases())

    def banned_phrases(self) -> frozenset[str]:
        """Phrases the checkpoint's processor never grounds ("the image", pronouns...)."""
        post = getattr(self.processor, "post_processor", None)
        return frozenset(getattr(post, "banned_grounding_tokens", ()) or ())


def load(spec: Any, path: Path, device: str, dtype: Any) -> FlorenceBackend:
    """Native Florence2ForConditionalGeneration + its processor from a local folder."""
    from transformers import AutoProcessor, Florence2ForConditionalGeneration

    from .weights import FOLDER_REVISION, weights_kwargs

    if spec.trust_remote_code:
        raise ModelError(f"'{spec.name}' is in the original microsoft layout, which needs remote "
                         f"code; use the converted florence-community/Florence-2-* models.")
    # revision: transformers annotates it `str`; None (no hub revision, a local folder) is on purpose
    model = Florence2ForConditionalGeneration.from_pretrained(
        str(path), revision=FOLDER_REVISION, dtype=dtype, local_files_only=True,  # type: ignore[arg-type]
        **weights_kwargs(path))
    processor = AutoProcessor.from_pretrained(str(path), revision=FOLDER_REVISION,
                                              local_files_only=True)
    # transformers declares PreTrainedModel.to with @wraps(torch.nn.Module.to), which mypy reads
    # as an unbound function taking the model first
    return FlorenceBackend(model.to(device).eval(), processor, spec, device, dtype)  # type: ignore[arg-type]


class FlorenceSession:
    """One capture encoded once by the vision tower, then prompted many times (caption, detect,
    ground, segment): the SAM predictor pattern for Florence-2."""

    def __init__(self, backend: FlorenceBackend, image: np.ndarray) -> None:
        self.backend, self.image = backend, image
        with backend.lock:  # the dock and a Processing run may share one cached model
            self.features = backend.encode(image)

    def run(self, request: Request, progress: ProgressFn | None = None,
            cancel: CancelToken | None = None) -> PixelResult:
        """Like ``backend.run`` for this session's image, without re-running the vision tower."""
        from ..cancel import ensure_token, noop_progress

        progress, cancel = progress or noop_progress, ensure_token(cancel)
        backend = self.backend
        req = Request(request.task, self.image, request.prompt, options=dict(request.options))
        if req.task not in backend.tasks:
            raise ModelError(f"Florence-2 cannot do '{req.task}'.")
        cancel.check()
        import torch

        with backend.lock:  # one call at a time on a model, as in Backend.run
            inputs = backend.preprocess(req)
            with torch.inference_mode():
                encoded = self._embedded(inputs["inputs"])
            text = backend._generate(encoded, req, progress, cancel)
            return backend.postprocess(req, {**inputs, "text": text})

    def _embedded(self, inputs: dict) -> dict:
        """Prompt embeddings with the cached image features scattered into the image tokens."""
        model, ids = self.backend.model, inputs["input_ids"]
        embeds = model.get_input_embeddings()(ids)
        feats = self.features.to(embeds.device, embeds.dtype)
        mask = model.model.get_placeholder_mask(ids, inputs_embeds=embeds, image_features=feats)
        attention = inputs.get("attention_mask")
        encoder = model.model.language_model.encoder(inputs_embeds=embeds.masked_scatter(mask, feats),
                                                     attention_mask=attention)
        return {"encoder_outputs": encoder, "attention_mask": attention}
