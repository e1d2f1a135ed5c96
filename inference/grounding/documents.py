"""The analyst's own documents (a folder of .txt, .md and .pdf), chunked and ranked with BM25.

Everything runs locally and needs no model weights: text is split into paragraph-aligned chunks
of about ``CHUNK_WORDS`` words, indexed with BM25+ (the ``rank-bm25`` package) and queried
with the question (plus the caption, when there is one). PDFs contribute their text layer
(``pypdf``); a scanned PDF without one is reported, not guessed at.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import InputError, N_
from ..io.file_walk import open_regular, walk_files

EXTENSIONS = (".txt", ".md", ".pdf")
CHUNK_WORDS = 120           # words per chunk (paragraphs are kept whole when they fit)
MAX_FILES = 2000            # a folder larger than this is cut, with a warning
MAX_BYTES = 20_000_000      # a larger file is skipped, with a warning
DEFAULT_TOP_K = 3
DEFAULT_BUDGET = 800        # tokens for all document chunks together
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset("""a an and are as at be by do does for from has have how in is it its of on or
that the their there these this to was were what when where which who why will with""".split())


def terms(text: str) -> list[str]:
    """BM25 terms: lower-case words and numbers, common English function words dropped."""
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP]


@dataclass(frozen=True)
class Chunk:
    """A passage of one document: its file, its 1-based position and its text."""

    path: str       # the file, as found under the folder
    index: int      # 1-based position of the chunk in its file
    text: str

    @property
    def name(self) -> str:
        """``file.ext#N``: how the passage is cited."""
        return f"{os.path.basename(self.path)}#{self.index}"


@dataclass(frozen=True)
class Hit:
    """A ranked passage and its BM25 score."""

    chunk: Chunk
    score: float

    @property
    def source(self) -> dict:
        """The passage as a plain source record (path, chunk, score)."""
        return {"kind": "document", "path": self.chunk.path, "chunk": self.chunk.index,
                "score": round(float(self.score), 4)}


@dataclass
class DocumentIndex:
    """BM25 over the chunks of every document of a folder."""

    chunks: list[Chunk]
    warnings: list[str] = field(default_factory=list)
    _bm25: object = None

    @classmethod
    def from_folder(cls, folder: str, *, chunk_words: int = CHUNK_WORDS) -> DocumentIndex:
        """Read, chunk and index every document under ``folder``; unreadable files become warnings."""
        paths, warnings = list_documents(folder)
        chunks: list[Chunk] = []
        for path in paths:
            text, problem = read_text(path)
            if problem:
                warnings.append(problem)
            chunks += [Chunk(path, i + 1, t) for i, t in enumerate(chunk_text(text, chunk_words))]
        return cls(chunks, warnings)

    def search(self, query: str, k: int = DEFAULT_TOP_K) -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first; chunks sharing no term are never hits."""
        words = terms(query)
        if not self.chunks or not words or k <= 0:
            return []
        ranker = self._ranker()
        # BM25+ adds delta * idf for every query term to every chunk; without it a score is
        # what the chunk's own matches earn (> 0 exactly when it shares a term)
        scores = ranker.get_scores(words) - ranker.delta * sum(ranker.idf.get(w, 0.0) for w in words)
        query_terms = set(words)
        ranked = sorted(range(len(self.chunks)), key=lambda i: (-scores[i], i))
        hits: list[Hit] = []
        for i in ranked:
            if len(hits) == k or scores[i] <= 1e-9:
                break
            if query_terms & set(terms(self.chunks[i].text)):
                hits.append(Hit(self.chunks[i], float(scores[i])))
        return hits

    def _ranker(self):
        # BM25+ (Lv & Zhai 2011): its idf log((N + 1) / n) stays positive for a term in every
        # chunk, where Okapi's goes negative (a single note, or a word in most of a small folder)
        if self._bm25 is None:
            from rank_bm25 import BM25Plus

            self._bm25 = BM25Plus([terms(c.text) or ["\x00"] for c in self.chunks])
        return self._bm25


def list_documents(folder: str) -> tuple[list[str], list[str]]:
    """The .txt/.md/.pdf files under ``folder`` (sorted, hidden ones skipped) and warnings.

    Only regular files are read: a named pipe, a dangling or looping link, an unreadable folder
    or a file over ``MAX_BYTES`` is skipped with a warning naming it, and folder links are
    followed once each (``io.file_walk``)."""
    check_folder(folder)
    found = walk_files([folder], EXTENSIONS, max_files=MAX_FILES, max_bytes=MAX_BYTES,
                       skip_hidden=True)
    return found.files, found.warnings


def check_folder(folder: str) -> None:
    """DOCUMENTS must name an existing folder; a file or a missing path is refused by name."""
    if folder and os.path.isdir(folder):
        return
    if folder and os.path.lexists(folder):
        raise InputError(N_("DOCUMENTS: '{folder}' is a file, not a folder; DOCUMENTS needs a "
                            "folder of documents (.txt, .md, .pdf)."), folder=folder)
    raise InputError(N_("DOCUMENTS: the folder '{folder}' does not exist."), folder=folder)


def read_text(path: str) -> tuple[str, str]:
    """(text, problem): the file's text, or '' and why it could not be read."""
    if path.lower().endswith(".pdf"):
        return _pdf_text(path)
    try:
        with open_regular(path) as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as err:
        return "", f"Could not read '{path}': {err.strerror or err}."
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), ""
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), ""


def _pdf_text(path: str) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
    except ImportError:
        return "", f"Skipped '{path}': reading PDFs needs the pypdf package (run the EO Lens installer)."
    try:
        with open_regular(path) as fh:
            reader = PdfReader(fh)
            if reader.is_encrypted:
                return "", f"Skipped '{path}': the PDF is encrypted."
            text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except OSError as err:
        return "", f"Could not read '{path}': {err.strerror or err}."
    except Exception as err:  # noqa: BLE001 - pypdf raises many kinds for damaged files
        return "", f"Could not read the PDF '{path}': {err}."
    if not text.strip():
        return "", f"'{path}' has no text layer (a scanned PDF?); it was not used."
    return text, ""


def chunk_text(text: str, chunk_words: int = CHUNK_WORDS) -> list[str]:
    """Paragraph-aligned chunks of at most ``chunk_words`` words (a longer paragraph is split)."""
    chunks: list[str] = []
    current: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        words = para.split()
        while len(words) > chunk_words:  # a long paragraph: full-size pieces of its own
            if current:
                chunks.append(" ".join(current))
                current = []
            chunks.append(" ".join(words[:chunk_words]))
            words = words[chunk_words:]
        if current and len(current) + len(words) > chunk_words:
            chunks.append(" ".join(current))
            current = []
        current += words
    if current:
        chunks.append(" ".join(current))
    return chunks


def document_context(hits: Sequence[Hit], *, budget: int = DEFAULT_BUDGET,
                     count_tokens: Callable[[str], int] | None = None) -> tuple[str, list[Hit]]:
    """The prompt text for ``hits`` (rank order) within ``budget`` tokens, and the hits it holds."""
    from .context_layers import estimate_tokens

    count = count_tokens or estimate_tokens
    head = "Passages from the analyst's documents:"
    lines, used, kept = [head], count(head), []
    for hit in hits:
        line = f"[{hit.chunk.name}] {hit.chunk.text}"
        cost = count(line) + 1
        if used + cost > budget:
            continue  # a shorter, lower-ranked chunk may still fit
        lines.append(line)
        used += cost
        kept.append(hit)
    return ("\n".join(lines) if kept else ""), kept


_CACHE: dict[str, tuple[tuple, DocumentIndex]] = {}


def _stamp(path: str) -> tuple[str, int, int]:
    """(path, mtime, size); a file gone since the walk stamps as (-1, -1) and is reported later."""
    try:
        st = os.stat(path)
    except OSError:
        return path, -1, -1
    return path, st.st_mtime_ns, st.st_size


def index_folder(folder: str) -> DocumentIndex:
    """The folder's index, rebuilt only when a document was added, removed or changed."""
    paths, warnings = list_documents(folder)
    stamp = (tuple(_stamp(p) for p in paths), tuple(warnings))
    cached = _CACHE.get(folder)
    if cached is None or cached[0] != stamp:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        cached = (stamp, DocumentIndex.from_folder(folder))
        _CACHE[folder] = cached
    return cached[1]
