"""Processing help speaks the dialog's language: every parameter it mentions is named by its label."""
import re

import pytest

from eolens.plugin.processing.algorithms import ALGORITHMS


@pytest.mark.parametrize("cls", ALGORITHMS, ids=lambda c: c.ALG_ID)
def test_help_names_parameters_by_their_dialog_label(cls):
    alg = cls()
    alg.initAlgorithm()
    text = alg.shortHelpString()
    definitions = alg.parameterDefinitions() + alg.outputDefinitions()
    mentioned = [d for d in definitions if re.search(rf"\b{re.escape(d.name())}\b", text)]
    assert mentioned, "the help mentions no parameter at all"
    for d in mentioned:
        label = d.description().rstrip(":")
        assert label in text.replace("&amp;", "&"), f"{d.name()} is mentioned without its label '{label}'"


def test_a_later_mention_keeps_the_bare_id():
    from qgis.core import QgsProcessingParameterString

    from eolens.plugin.processing.algorithms.base import labelled_help

    out = labelled_help("PROMPT first, then PROMPT again.", [QgsProcessingParameterString("PROMPT", "Prompt")])
    assert out == "<i>Prompt</i> (PROMPT) first, then PROMPT again."
