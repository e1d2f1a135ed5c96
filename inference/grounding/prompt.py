"""Answers grounded in the analyst's own GIS: context from vector layers and documents, one prompt
template, and the sources the pipeline (not the model) attaches to the answer.

Used by the dock and by ``eolens:ask`` / ``eolens:caption``: build a :class:`Grounding` for a
capture and a question, pass it to ``actions.ask`` / ``actions.caption``; the result's
``ActionResult.sources`` lists exactly what went into the prompt (features, then documents in rank
order) and ``meta["prompt"]`` is the text that was sent.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .context_layers import DEFAULT_BUDGET as LAYER_BUDGET
from .context_layers import ContextLayer, LayerContext, estimate_tokens, layer_context
from .documents import DEFAULT_BUDGET as DOC_BUDGET
from .documents import DEFAULT_TOP_K, DocumentIndex, Hit, document_context, index_folder

INSTRUCTION = (
    "Context from the analyst's own GIS layers and documents follows. Prefer it over guessing "
    "when it is relevant, and name a feature by its [layer:id] when you use it. If neither the "
    "image nor the context answers the question, say that you do not know.")
CAPTION_INSTRUCTION = (
    "Context from the analyst's own GIS layers and documents follows. Use it to name what you "
    "see when it is relevant; do not describe anything that is not visible in the image.")


@dataclass
class Grounding:
    """What goes into one prompt besides the image, with its sources."""

    layers: LayerContext = field(default_factory=LayerContext)
    hits: list[Hit] = field(default_factory=list)        # document chunks put into the prompt
    documents_text: str = ""
    warnings: list[str] = field(default_factory=list)
    used: bool = True                                    # False: the model could not take it

    @property
    def empty(self) -> bool:
        """True when neither layers nor documents add any context."""
        return not self.layers.text and not self.documents_text

    @property
    def sources(self) -> list[dict]:
        """Source records of the features and passages used, or [] when grounding was not used."""
        if not self.used:
            return []
        return self.layers.sources + [h.source for h in self.hits]

    def context_text(self) -> str:
        """The layers' text and the documents' text, joined for the prompt."""
        return "\n\n".join(t for t in (self.layers.text, self.documents_text) if t)

    def prompt(self, question: str, *, instruction: str = INSTRUCTION,
               label: str = "Question") -> str:
        """The text sent with the image: the question alone when there is no context."""
        if self.empty:
            return question
        return f"{instruction}\n\n{self.context_text()}\n\n{label}: {question}"

    def attach(self, result: Any, prompt: str) -> None:
        """Put the sources and the exact prompt on an ``actions.ActionResult`` and its first
        feature (the answer/caption footprint, whose ``sources`` field is JSON text)."""
        sources = self.sources
        result.sources = sources
        result.meta.update(prompt=prompt, context_left_out=self.layers.left_out if self.used else 0)
        if result.features:
            result.features[0].properties["sources"] = json.dumps(sources, ensure_ascii=False)
        result.warnings.extend(self.warnings)


def build(transform: Any, width: int, height: int, query: str, *,
          layers: Sequence[ContextLayer] = (), documents: str | DocumentIndex | None = None,
          crs_wkt: str = "", caption: str = "", top_k: int = DEFAULT_TOP_K,
          layer_budget: int = LAYER_BUDGET, document_budget: int = DOC_BUDGET,
          count_tokens: Callable[[str], int] = estimate_tokens) -> Grounding:
    """The grounding for a capture (``transform``, ``width`` x ``height`` px, ``crs_wkt``).

    ``documents`` is a folder (indexed once and cached until a file changes) or an index; its
    query is ``query`` plus ``caption`` or, with neither (a caption run), the attribute values
    of the features in view."""
    ctx = layer_context(layers, transform, width, height, crs_wkt=crs_wkt, budget=layer_budget,
                        count_tokens=count_tokens) if layers else LayerContext()
    out = Grounding(layers=ctx)
    if ctx.left_out:
        out.warnings.append(f"{ctx.left_out} of {ctx.total} context features did not fit in the "
                            "prompt; the nearest the centre and the largest were kept.")
    if documents:
        index = index_folder(documents) if isinstance(documents, str) else documents
        out.warnings += index.warnings
        words = " ".join(t for t in (query, caption) if t) or caption_query(out)
        hits = index.search(words, top_k)
        out.documents_text, out.hits = document_context(hits, budget=document_budget,
                                                        count_tokens=count_tokens)
    return out


def for_image(image: Any, query: str, **kwargs: Any) -> Grounding:
    """:func:`build` for a ``GeoImage`` capture."""
    return build(image.transform, image.width, image.height, query, crs_wkt=image.crs_wkt,
                 **kwargs)


def caption_query(grounding: Grounding) -> str:
    """A document query without a question: the attribute values of the features in view."""
    return " ".join(" ".join(str(v) for v in item.attributes.values())
                    for item in grounding.layers.items)


def caption_request(backend: Any, request: Any, grounding: Grounding) -> tuple[Any, str]:
    """(request, prompt) for a grounded caption: a chat-capable model gets the caption
    instruction with the context; a caption-only model (Florence-2) cannot read it, so the
    context is not used and the analyst is told."""
    from ..models.qwen_vl import MAX_NEW_TOKENS, task_prompt
    from ..results import Request

    if grounding.empty:
        return request, ""
    if "chat" not in getattr(backend, "tasks", ()):
        grounding.used = False
        grounding.warnings.append("This caption model cannot read context; CONTEXT_LAYERS and "
                                  "DOCUMENTS were not used (choose a chat model such as "
                                  "qwen3-vl-2b).")
        return request, ""
    prompt = grounding.prompt(task_prompt(request), instruction=CAPTION_INSTRUCTION, label="Task")
    options = {"max_new_tokens": MAX_NEW_TOKENS["caption"]}
    return Request("chat", request.image, prompt=prompt, options=options), prompt


def source_name(source: dict) -> str:
    """How a source is cited: ``layer:fid`` or ``document#chunk``."""
    if source.get("kind") == "feature":
        return f"{source['layer']}:{source['fid']}"
    return f"{os.path.basename(source['path'])}#{source['chunk']}"
