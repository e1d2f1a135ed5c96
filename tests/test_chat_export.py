"""Conversation export: Markdown or HTML with the image chip, escaped, never overwriting."""
import numpy as np
import pytest

from eolens.inference.io.chat_export import write_chat
from eolens.inference.errors import InputError

TURNS = [("How many ships?", "Three <b>ships</b> & a tug."), ("Wo ist der Hafen?", "Im Süden, 港口.")]


def test_html_export_escapes_text_and_writes_the_chip(tmp_path):
    chip = np.zeros((8, 8, 3), np.uint8)
    chip[..., 0] = 200
    path = write_chat(str(tmp_path / "talk.html"), TURNS, chip)
    html = (tmp_path / "talk.html").read_text(encoding="utf-8")
    assert "Three &lt;b&gt;ships&lt;/b&gt; &amp; a tug." in html and "<b>ships</b>" not in html
    assert "Im Süden, 港口." in html and "talk_chip.png" in html and path.endswith("talk.html")
    from PIL import Image

    assert np.asarray(Image.open(tmp_path / "talk_chip.png"))[0, 0].tolist() == [200, 0, 0]


def test_markdown_export_keeps_turn_order_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "talk.md"
    write_chat(str(path), TURNS, None)
    text = path.read_text(encoding="utf-8")
    assert text.index("How many ships?") < text.index("Wo ist der Hafen?")
    with pytest.raises(InputError, match="already exists"):
        write_chat(str(path), TURNS[:1], None)
    assert path.read_text(encoding="utf-8") == text
    with pytest.raises(InputError, match=".md or .html"):
        write_chat(str(tmp_path / "talk.docx"), TURNS, None)
    with pytest.raises(InputError, match="does not exist"):
        write_chat(str(tmp_path / "missing" / "talk.md"), TURNS, None)
