"""Export a conversation as Markdown or HTML with the image chip it was about."""
from __future__ import annotations

import html
import os
from typing import Optional, Sequence

import numpy as np

from ..errors import InputError


def write_chat(path: str, turns: Sequence[tuple[str, str]], chip: Optional[np.ndarray] = None,
               *, title: str = "EO Lens conversation", overwrite: bool = False,
               sources: Sequence[Sequence[dict]] = ()) -> str:
    """Write ``turns`` (question, answer) to ``path`` (.md or .html); the chip goes beside it as PNG.

    ``sources[i]`` lists the sources put into the prompt of turn ``i`` (``grounding.Grounding``)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".md", ".html", ".htm"):
        raise InputError(f"Export the chat as .md or .html, not '{ext or path}'.")
    if os.path.exists(path) and not overwrite:
        raise InputError(f"'{path}' already exists; choose another name.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"The folder '{folder}' does not exist.")
    chip_name = _write_chip(path, chip) if chip is not None else None
    cited = [_cited(sources[i] if i < len(sources) else ()) for i in range(len(turns))]
    text = _html(title, turns, chip_name, cited) if ext != ".md" else _markdown(title, turns, chip_name, cited)
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def _write_chip(path: str, chip: np.ndarray) -> str:
    from PIL import Image

    folder = os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0] + "_chip"
    name, n = stem + ".png", 1
    while os.path.exists(os.path.join(folder, name)):   # never overwrite another export's chip
        name, n = f"{stem}-{n}.png", n + 1
    Image.fromarray(np.ascontiguousarray(chip[..., :3]).astype(np.uint8)).save(os.path.join(folder, name))
    return name


def _cited(sources) -> str:
    from ..grounding.prompt import source_name

    return ", ".join(source_name(s) for s in sources)


def _markdown(title, turns, chip_name, cited) -> str:
    lines = [f"# {title}", ""]
    if chip_name:
        lines += [f"![image]({chip_name})", ""]
    for (question, answer), names in zip(turns, cited):
        lines += [f"**Q:** {question}", "", f"**A:** {answer}", ""]
        lines += [f"*Sources:* {names}", ""] if names else []
    return "\n".join(lines)


def _html(title, turns, chip_name, cited) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<h1>{html.escape(title)}</h1>"]
    if chip_name:
        parts.append(f"<img src='{html.escape(chip_name)}' alt='image' style='max-width:512px'>")
    for (question, answer), names in zip(turns, cited):
        parts.append(f"<p><b>Q:</b> {html.escape(question)}</p><p><b>A:</b> {html.escape(answer)}</p>")
        if names:
            parts.append(f"<p><small><i>Sources:</i> {html.escape(names)}</small></p>")
    return "\n".join(parts)
