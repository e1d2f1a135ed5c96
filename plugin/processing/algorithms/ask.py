"""eolens:ask: answer one question about an image region."""
from __future__ import annotations

from typing import ClassVar

from ...translate import N_
from .base import EOLensAlgorithm, Run


class AskAlgorithm(EOLensAlgorithm):
    ALG_ID = "ask"
    DISPLAY = N_("Ask about image region")
    HELP = (N_("Answers one question (PROMPT) about the raster or EXTENT. OUTPUT holds the captured "
            "footprint with the question and answer, plus any objects the answer points at."))
    MODEL_TASK = "chat"
    MODEL_TASKS = ("chat",)
    PROMPT = "required"
    PROMPT_LABEL = N_("Question")
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Answer footprint and objects"), "OUTPUT_TEXT": N_("Answer (.txt / .json)")}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.ask(image, run.prompt, run.model, opts=run.opts,
                           progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
