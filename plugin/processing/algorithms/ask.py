"""eolens:ask: answer one question about an image region."""
from __future__ import annotations

from typing import ClassVar

from ...translate import N_
from .base import EOLensAlgorithm, Run
from .grounded import GroundedMixin


class AskAlgorithm(GroundedMixin, EOLensAlgorithm):
    ALG_ID = "ask"
    DISPLAY = N_("Ask about image region")
    HELP = (N_("Answers one question (PROMPT) about the raster or EXTENT. OUTPUT holds the captured "
            "footprint with the question and answer, plus any objects the answer points at. "
            "CONTEXT_LAYERS (their features in the area) and DOCUMENTS (a folder of .txt, .md "
            "and .pdf, ranked with BM25) ground the answer; the sources put into the prompt are "
            "in the sources field and in a .json OUTPUT_TEXT."))
    MODEL_TASK = "chat"
    MODEL_TASKS = ("chat",)
    PROMPT = "required"
    PROMPT_LABEL = N_("Question")
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Answer footprint and objects"), "OUTPUT_TEXT": N_("Answer (.txt / .json)")}

    def add_specific_parameters(self) -> None:
        self.add_grounding_parameters()

    def validate_specific(self, parameters, context) -> None:
        self.validate_grounding(parameters, context)

    def read_specific(self, parameters, context) -> dict:
        return self.read_grounding(parameters, context)

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.ask(image, run.prompt, run.model, opts=run.opts,
                           progress=sub_progress(run.progress, 5, 100), cancel=run.cancel,
                           grounding=self.grounding(run, image, run.prompt))
