"""eolens:ask: answer one question about an image region."""
from __future__ import annotations

from typing import ClassVar

from .base import EOLensAlgorithm, Run


class AskAlgorithm(EOLensAlgorithm):
    ALG_ID = "ask"
    DISPLAY = "Ask about image region"
    HELP = ("Answers one question (PROMPT) about the raster or EXTENT. OUTPUT holds the captured "
            "footprint with the question and answer, plus any objects the answer points at.")
    MODEL_TASK = "chat"
    MODEL_TASKS = ("chat",)
    PROMPT = "required"
    PROMPT_LABEL = "Question"
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": "Answer footprint and objects", "OUTPUT_TEXT": "Answer (.txt / .json)"}

    def act(self, run: Run):
        from ....inference import actions
        from ....inference.cancel import sub_progress

        image = self.capture(run)
        return actions.ask(image, run.prompt, run.model, opts=run.opts,
                           progress=sub_progress(run.progress, 5, 100), cancel=run.cancel)
