"""The German translation covers every string that `make i18n` collects, and it compiles and loads."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tools.i18n import collect

REPO = Path(__file__).resolve().parents[1]
TS = REPO / "i18n" / "eolens_de.ts"
FIELD = re.compile(r"\{[^{}]*\}")
SYMBOLS = ("…", "→", "▸")


def ts_messages(path: Path) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(context, source) -> (translation text, translation type attribute)."""
    out = {}
    for ctx in ET.parse(path).getroot().iter("context"):
        name = ctx.findtext("name")
        for msg in ctx.iter("message"):
            tr = msg.find("translation")
            out[(name, msg.findtext("source"))] = (
                (tr.text or "") if tr is not None else "", tr.get("type") if tr is not None else None)
    return out


def test_every_collected_string_has_a_german_translation():
    contexts = collect()
    assert contexts, "the extractor found no strings in plugin/"
    messages = ts_messages(TS)
    problems = []
    for context, sources in contexts.items():
        for source in sources:
            if (context, source) not in messages:
                problems.append(f"{context}: {source!r} is missing from {TS.name} (run make i18n)")
                continue
            text, kind = messages[(context, source)]
            if not text.strip() or kind in ("unfinished", "obsolete", "vanished"):
                problems.append(f"{context}: {source!r} is not translated")
                continue
            if FIELD.findall(text) != FIELD.findall(source):
                problems.append(f"{context}: {source!r} -> {text!r}: placeholders differ")
            for symbol in SYMBOLS:
                if source.count(symbol) != text.count(symbol):
                    problems.append(f"{context}: {source!r} -> {text!r}: {symbol!r} differs")
    assert not problems, "\n".join(problems)


def test_ts_compiles_and_translates(tmp_path):
    lrelease = shutil.which("lrelease")
    if lrelease is None:
        pytest.skip("lrelease (Qt Linguist tools) is not installed, so the .ts cannot be compiled")
    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    qm = tmp_path / "eolens_de.qm"
    subprocess.run([lrelease, "-silent", str(TS), "-qm", str(qm)], check=True)
    assert qm.is_file() and qm.stat().st_size > 0

    translator = QTranslator()
    assert translator.load(str(qm))
    assert translator.translate("ChatPanel", "Caption this view") == "Diesen Kartenausschnitt beschreiben"

    assert QCoreApplication.instance() is not None
    QCoreApplication.installTranslator(translator)
    try:
        assert QCoreApplication.translate("EOLensDock", "Cancel") == "Abbrechen"
        assert QCoreApplication.translate("FindPanel", "{} objects found.").format(3) == "3 Objekte gefunden."
    finally:
        QCoreApplication.removeTranslator(translator)
