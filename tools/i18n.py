"""`make i18n`: collect every tr("...") / N_("...") string of plugin/ into i18n/*.ts, keep the
translations already there, then compile .qm with lrelease.

pylupdate5 cannot see module-level ``tr()`` helpers, so the context of each module is read from
its ``QCoreApplication.translate("Context", ...)`` call.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ("de",)


def _own_context(tree: ast.AST) -> str:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "translate" \
                and node.args and isinstance(node.args[0], ast.Constant):
            return node.args[0].value
    return ""


def _sibling_sources(path: Path, tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            source = base.joinpath(*(node.module or "").split(".")).with_suffix(".py")
            if source.exists():
                yield source


def context_of(path: Path, seen: frozenset = frozenset()) -> str:
    """A module's translation context; a module with no ``translate`` call of its own shares the
    context of a sibling it imports from (``from .base import tr``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _own_context(tree)
    if own:
        return own
    for source in _sibling_sources(path, tree):
        if source not in seen:
            found = context_of(source, seen | {path})
            if found:
                return found
    return ""


def module_strings(path: Path) -> tuple[str, list[str]]:
    """(translation context, tr()/N_() strings) of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("tr", "N_")
             and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)]
    return (context_of(path) if found else ""), found


# inference/ cannot import Qt: its N_() message templates share one context, translated by
# plugin/messages.describe (inference/errors.py: EOLensError.translated)
INFERENCE_CONTEXT = "EOLensErrors"


def collect() -> dict[str, list[str]]:
    contexts: dict[str, list[str]] = {}
    sources = [(p, None) for p in sorted((REPO / "plugin").rglob("*.py"))]
    sources += [(p, INFERENCE_CONTEXT) for p in sorted((REPO / "inference").rglob("*.py"))]
    for path, fixed in sources:
        context, strings = module_strings(path)
        context = fixed or context
        if strings and context:
            bucket = contexts.setdefault(context, [])
            for text in strings:
                if text not in bucket:
                    bucket.append(text)
    return contexts


def read_ts(path: Path) -> dict[tuple[str, str], str]:
    if not path.exists():
        return {}
    out = {}
    for ctx in ET.parse(path).getroot().iter("context"):
        name = ctx.findtext("name")
        for msg in ctx.iter("message"):
            text = msg.findtext("translation") or ""
            if text:
                out[(name, msg.findtext("source"))] = text
    return out


def write_ts(path: Path, lang: str, contexts: dict[str, list[str]]) -> tuple[int, int]:
    known = read_ts(path)
    root = ET.Element("TS", version="2.1", language=lang)
    done = total = 0
    for context, strings in sorted(contexts.items()):
        ctx = ET.SubElement(root, "context")
        ET.SubElement(ctx, "name").text = context
        for source in strings:
            msg = ET.SubElement(ctx, "message")
            ET.SubElement(msg, "source").text = source
            text = known.get((context, source), "")
            tr = ET.SubElement(msg, "translation")
            if text:
                tr.text = text
                done += 1
            else:
                tr.set("type", "unfinished")
            total += 1
    ET.indent(root)
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n'
                    + ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")
    return done, total


def main() -> int:
    contexts = collect()
    for lang in LANGUAGES:
        ts = REPO / "i18n" / f"eolens_{lang}.ts"
        done, total = write_ts(ts, lang, contexts)
        print(f"{ts.name}: {done}/{total} translated")
        if subprocess.call(["lrelease", "-silent", str(ts)]) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
