"""Every EO Lens algorithm sits in a named toolbox group, with a help link and search tags."""
from __future__ import annotations


def test_algorithms_have_group_help_and_tags():
    from eolens.plugin.processing.algorithms import ALGORITHMS

    seen = set()
    for cls in ALGORITHMS:
        alg = cls()
        assert alg.groupId() and alg.groupId() != "other", alg.name()
        assert alg.group() and alg.group() != alg.groupId()
        assert alg.helpUrl().startswith("https://") and "#" in alg.helpUrl()
        assert alg.name() in alg.tags() and "eolens" in alg.tags()
        seen.add(alg.groupId())
    assert {"describe", "find", "change", "search"} <= seen
