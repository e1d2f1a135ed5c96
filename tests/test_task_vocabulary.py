"""One vocabulary of task names (inference/tasks.py): the registry, requests, loads, backends,
Processing's MODEL_TASK and the settings' model slots all use it, and a misspelt task fails."""
from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest
from eolens.inference.errors import InputError
from eolens.inference.tasks import ROLES, Task

REPO = Path(__file__).resolve().parents[1]
VALID = {t.value for t in Task}


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def task_literals(tree: ast.AST):
    """(line, text) of every string used where a task name goes."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            args = list(node.args)
            if name == "Request" and args:
                yield node.lineno, _literal(args[0])
            elif name in ("load", "model_for", "plugin_defaults") and len(args) >= (2 if name == "load" else 1):
                yield node.lineno, _literal(args[1] if name == "load" else args[0])
            for kw in node.keywords:
                if kw.arg == "task":
                    yield node.lineno, _literal(kw.value)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") in ("MODEL_TASK", "tasks")
                                                  for t in node.targets):
            for sub in ast.walk(node.value):
                if _literal(sub) is not None:
                    yield node.lineno, _literal(sub)
        elif isinstance(node, ast.Compare) and getattr(node.left, "attr", "") == "task":
            for sub in node.comparators:
                for lit in ast.walk(sub):
                    if _literal(lit) is not None:
                        yield node.lineno, _literal(lit)


def test_every_task_name_in_the_code_is_in_the_vocabulary():
    seen, bad = set(), []
    for path in sorted([*(REPO / "inference").rglob("*.py"), *(REPO / "plugin").rglob("*.py")]):
        for line, text in task_literals(ast.parse(path.read_text(encoding="utf-8"))):
            if text is None:
                continue
            seen.add(text)
            if text not in VALID:
                bad.append(f"{path.relative_to(REPO)}:{line} '{text}'")
    assert not bad, "task names outside inference/tasks.py:\n" + "\n".join(bad)
    assert {"caption", "detect", "segment_prompt", "features", "classify"} <= seen  # the scan sees them


def test_the_scan_catches_a_misspelt_task():
    tree = ast.parse("Request('captoin', img)\nload(m, 'feature', opts)\nclass B:\n    tasks = frozenset({'detect'})\n"
                     "if request.task == 'grund':\n    pass\ns.model_for('chnage_caption')\n")
    assert [t for _, t in task_literals(tree) if t not in VALID] == ["captoin", "feature", "grund",
                                                                     "chnage_caption"]


def test_settings_slots_registry_defaults_and_roles_agree():
    from eolens.inference.models.registry import DEFAULTS, REGISTRY
    from eolens.plugin.settings import Settings
    from eolens.plugin.settings_dialog import TASK_LABELS

    slots = {f.name[len("model_"):] for f in fields(Settings) if f.name.startswith("model_")}
    assert slots == {t.value for t in ROLES} == set(DEFAULTS) == set(TASK_LABELS)
    for task, name in DEFAULTS.items():
        assert task in REGISTRY[name].tasks, (task, name)   # each default can do its task


def test_a_misspelt_task_is_refused_with_the_valid_names():
    from eolens.inference.models.registry import ModelSpec
    from eolens.inference.results import Request

    with pytest.raises(InputError, match=r"Unknown task 'captoin'; use one of: caption, chat"):
        Request("captoin")
    with pytest.raises(InputError, match="'featurs'"):
        ModelSpec("x", "dinov2", "some/where", tasks=("featurs",))
    assert Request("caption").task is Task.CAPTION


def test_settings_model_for_refuses_a_task_without_a_slot():
    from eolens.plugin.settings import Settings

    assert Settings().model_for(Task.FEATURES) == Settings().model_features
    with pytest.raises(ValueError, match="No model setting for the task 'classify'"):
        Settings().model_for("classify")


def test_the_renamed_features_setting_is_read_from_the_old_key():
    from eolens.plugin import settings
    from qgis.core import QgsSettings

    s = QgsSettings()
    before = {k: s.value(settings.PREFIX + k) for k in ("model_features", "model_change_features")}
    try:
        s.remove(settings.PREFIX + "model_features")
        s.setValue(settings.PREFIX + "model_change_features", "/models/my-dinov2")
        assert settings.load().model_features == "/models/my-dinov2"
        settings.update(model_features="dinov2-small")   # the new key wins once written
        assert settings.load().model_features == "dinov2-small"
    finally:
        for key, value in before.items():
            if value is None:
                s.remove(settings.PREFIX + key)
            else:
                s.setValue(settings.PREFIX + key, value)
