"""Query an archive index: text or an example image -> the top-K tiles across every raster.

Exact cosine by default: the stored vectors are L2-normalised, so the score is one matmul,
streamed over the index in chunks (bounded memory) with a running top-K. Above
``APPROX_MIN_TILES`` tiles, and when ``usearch`` is installed, an HNSW graph (usearch, f16,
inner product) proposes candidates that are then re-scored exactly, so every returned score is
the true cosine and only the ranking can be approximate. The graph is kept inside the index file
(``eolens_ann``) and rebuilt when the tiles change. Without usearch, search stays exact.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence, TypedDict

import numpy as np

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress, sub_progress
from ..errors import InputError
from .store import IndexStore

APPROX_MIN_TILES = 200_000   # exact search of 200k 512-d vectors is ~20 ms on a laptop core
CANDIDATES = 32              # graph candidates per requested hit, re-scored exactly
CACHE_BYTES = 1 << 30        # exact search keeps up to 1 GiB of vectors loaded between queries
_ANN_NAME = "usearch-hnsw-f16"
_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()
WGS84 = "EPSG:4326"


@dataclass
class Hit:
    """One search result: rank, score, tile id, source file and the tile's window."""

    rank: int
    score: float
    fid: int
    source: str
    col_off: int
    row_off: int
    width: int
    height: int
    crs: str
    footprint: str     # WKT in ``crs`` (the raster's own CRS)
    geometry: Any      # shapely polygon in EPSG:4326


# --- top-K primitives ------------------------------------------------------------------------

def top_k(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, scores) of the ``k`` best rows of ``vectors @ query``, best first."""
    scores = vectors @ query
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    part = np.argpartition(-scores, k - 1)[:k]
    order = part[np.lexsort((part, -scores[part]))]  # ties: lower row first
    return order.astype(np.int64), scores[order]


def exact_search(chunks: Iterable[tuple[np.ndarray, np.ndarray]], query: np.ndarray, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Running top-K over (ids, vectors) chunks: (ids, scores), best first."""
    best_ids, best_scores = np.zeros(0, np.int64), np.zeros(0, np.float32)
    for ids, vecs in chunks:
        rows, scores = top_k(vecs, query, k)
        ids_all = np.concatenate([best_ids, ids[rows]])
        scores_all = np.concatenate([best_scores, scores])
        order = np.lexsort((ids_all, -scores_all))[:k]
        best_ids, best_scores = ids_all[order], scores_all[order]
    return best_ids, best_scores


def ann_available() -> bool:
    """True when the optional package usearch (approximate search) is installed."""
    import importlib.util

    return importlib.util.find_spec("usearch") is not None


class AnnIndex:
    """An HNSW graph (usearch) over unit vectors; ``search`` returns candidate ids."""

    def __init__(self, index: Any) -> None:
        self.index = index

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, *, connectivity: int = 16,
              expansion_add: int = 64, expansion_search: int = 1024) -> "AnnIndex":
        """An approximate inner-product index of ``vectors`` keyed by ``ids``."""
        from usearch.index import Index, ScalarKind

        index = Index(ndim=int(vectors.shape[1]), metric="ip", dtype=ScalarKind.F16,
                      connectivity=connectivity, expansion_add=expansion_add,
                      expansion_search=expansion_search)
        index.add(np.asarray(ids, np.uint64), np.ascontiguousarray(vectors, np.float32))
        return cls(index)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "AnnIndex":
        """Restore an index saved with :meth:`to_bytes`."""
        from usearch.index import Index

        return cls(Index.restore(bytearray(blob)))

    def to_bytes(self) -> bytes:
        """The index serialised, for storing in the index file."""
        return bytes(self.index.save())

    def __len__(self) -> int:
        return len(self.index)

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """Ids of up to ``count`` nearest vectors to ``query``."""
        found = self.index.search(np.asarray(query, np.float32), min(count, len(self.index)))
        return np.asarray(found.keys, np.int64).reshape(-1)


def approx_search(ann: AnnIndex, vectors_of, query: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Graph candidates re-scored exactly; ``vectors_of(ids)`` gives their stored vectors."""
    cand = ann.search(query, max(k * CANDIDATES, 256))
    return exact_search([(cand, vectors_of(cand))], query, k)


# --- against an index file --------------------------------------------------------------------

def _cached(key: tuple, load):
    """The last index's vectors (or graph) stay loaded: the next query of it skips the read.

    Keyed by the file's mtime and size and its tile stamp, so any change to the index reloads."""
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = load()
        return _CACHE[key]


def _matrix(store: IndexStore) -> tuple[np.ndarray, np.ndarray]:
    ids, vecs = zip(*store.iter_vectors())
    return np.concatenate(ids), np.concatenate(vecs)


def _ann_for(store: IndexStore) -> AnnIndex:
    stamp = store.stamp()
    saved = store.load_ann(_ANN_NAME)
    if saved is not None and saved[0] == stamp:
        return AnnIndex.from_bytes(saved[1])
    ids, vecs = zip(*store.iter_vectors()) if store.count() else ((), ())
    ann = AnnIndex.build(np.concatenate(ids), np.concatenate(vecs))
    store.save_ann(_ANN_NAME, stamp, ann.to_bytes())
    return ann


def choose_method(n_tiles: int, method: str = "auto") -> str:
    """``exact`` or ``approx`` for ``n_tiles`` tiles; ``auto`` picks by size and what is installed."""
    if method not in ("auto", "exact", "approx"):
        raise InputError(f"Unknown search method '{method}'; use auto, exact or approx.")
    if method == "approx" and not ann_available():
        raise InputError("Approximate search needs the optional package usearch "
                         "(pip install usearch); exact search needs nothing.")
    if method == "auto":
        return "approx" if n_tiles >= APPROX_MIN_TILES and ann_available() else "exact"
    return method


def query_index(index_path: str, query: np.ndarray, top_k: int = 10, *,
                method: str = "auto") -> list[Hit]:
    """The ``top_k`` tiles of the index closest (cosine) to the unit vector ``query``."""
    if top_k < 1:
        raise InputError("TOP_K must be at least 1.")
    query = np.asarray(query, np.float32).reshape(-1)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    with IndexStore(index_path, create=False) as store:
        dim = int(store.meta().get("dim", 0) or 0)
        if not dim:
            raise InputError(f"The index '{store.path}' holds no tiles yet.")
        if query.shape[0] != dim:
            raise InputError(f"The query has {query.shape[0]} values but the index '{store.path}' "
                             f"holds {dim}-d embeddings; use the index's model.")
        st = os.stat(store.path)
        key, n = (store.path, st.st_mtime_ns, st.st_size, store.stamp()), store.count()
        if choose_method(n, method) == "approx":
            ann = _cached(key + ("approx",), lambda: _ann_for(store))
            ids, scores = approx_search(ann, store.vectors, query, top_k)
        elif n * dim * 4 <= CACHE_BYTES:
            ids, scores = exact_search([_cached(key + ("exact",), lambda: _matrix(store))],
                                       query, top_k)
        else:  # too big to keep: stream it
            ids, scores = exact_search(store.iter_vectors(), query, top_k)
        rows = {t["fid"]: t for t in store.tiles(ids)}
    return [_hit(rank + 1, float(s), rows[int(i)]) for rank, (i, s) in enumerate(zip(ids, scores))]


def _hit(rank: int, score: float, row: dict) -> Hit:
    return Hit(rank, score, int(row["fid"]), row["source"], int(row["col_off"]),
               int(row["row_off"]), int(row["width"]), int(row["height"]), row["crs"] or "",
               row["footprint"] or "", row["geom"])


def index_meta(index_path: str) -> dict[str, str]:
    """The metadata table of the index file at ``index_path``."""
    with IndexStore(index_path, create=False) as store:
        return store.meta()


def index_backend(index_path: str, model: Optional[str] = None, *, device: str = "auto",
                  offline: Optional[bool] = None, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelToken] = None):
    """The model the index was built with; ``model`` overrides it only when it is the same
    model (the same hub id and revision, or the same local model moved to another folder)."""
    from .model import IndexSettings, check_same_model, load_backend

    meta = index_meta(index_path)
    if "model" not in meta:
        raise InputError(f"The index '{index_path}' holds no tiles yet.")
    if model:
        check_same_model(os.path.abspath(index_path), meta, model)
    return load_backend(IndexSettings(model or meta["model"], device=device, offline=offline),
                        progress, cancel)


def search_text(index_path: str, prompt: str, top_k: int = 10, *, model: Optional[str] = None,
                device: str = "auto", offline: Optional[bool] = None, method: str = "auto",
                progress: Optional[ProgressFn] = None,
                cancel: Optional[CancelToken] = None) -> list[Hit]:
    """Text query, prompt-templated for overhead imagery like the scene search."""
    if not (prompt or "").strip():
        raise InputError("Type what to search for (PROMPT).")
    backend = index_backend(index_path, model, device=device, offline=offline,
                            progress=progress, cancel=cancel)
    return query_index(index_path, backend.embed_phrases([prompt])[0], top_k, method=method)


def search_example(index_path: str, raster, bounds=None, bounds_crs=None, top_k: int = 10,
                   *, bands: Optional[Sequence[int]] = None, model: Optional[str] = None,
                   device: str = "auto", offline: Optional[bool] = None, method: str = "auto",
                   progress: Optional[ProgressFn] = None,
                   cancel: Optional[CancelToken] = None) -> list[Hit]:
    """"More like this": the region ``bounds`` of ``raster`` (a path, or a GeoImage already
    captured) embedded and matched."""
    from ..io.raster_read import capture_native

    image = raster if not isinstance(raster, str) else capture_native(
        raster, bounds, bounds_crs, bands=list(bands) if bands else None, max_side=2048)
    backend = index_backend(index_path, model, device=device, offline=offline,
                            progress=progress, cancel=cancel)
    return query_index(index_path, backend.encode_images([image.rgb], 1, cancel)[0], top_k,
                       method=method)


class _QueryArgs(TypedDict):
    """What search_index passes to both search_text and search_example."""

    model: Optional[str]
    device: str
    offline: Optional[bool]
    progress: ProgressFn
    cancel: CancelToken


def search_index(index_path: str, *, prompt: str = "", example: Optional[dict] = None,
                 top_k: int = 10, model: Optional[str] = None, device: str = "auto",
                 offline: Optional[bool] = None, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelToken] = None):
    """Text or example -> ActionResult of ranked EPSG:4326 footprints (rank, score, source).

    ``example``: ``{"path", "bounds", "bounds_crs", "bands"}`` of the region to match, or
    ``{"image": GeoImage, "path": name}`` for pixels captured already (a rendered layer).
    """
    from rasterio.crs import CRS

    from ..actions import ActionResult
    from ..io.georef import GeoFeature

    progress, cancel = progress or noop_progress, ensure_token(cancel)
    if bool((prompt or "").strip()) == bool(example):
        raise InputError("Give either a PROMPT or an EXAMPLE raster with an EXTENT.")
    common: _QueryArgs = {"model": model, "device": device, "offline": offline,
                          "progress": sub_progress(progress, 0, 80), "cancel": cancel}
    if example:
        source = example.get("image") if example.get("image") is not None else example["path"]
        hits = search_example(index_path, source, example.get("bounds"),
                              example.get("bounds_crs"), top_k, bands=example.get("bands"),
                              **common)
        what = f"tiles like {example['path']}"
    else:
        hits = search_text(index_path, prompt, top_k, **common)
        what = f"tiles for '{prompt}'"
    feats = [GeoFeature(h.geometry, {"rank": h.rank, "score": round(h.score, 6),
                                     "source": h.source, "tile": h.fid, "col_off": h.col_off,
                                     "row_off": h.row_off, "width": h.width, "height": h.height,
                                     "crs": h.crs}) for h in hits]
    progress(100.0)
    sources = len({h.source for h in hits})
    return ActionResult(text=f"Top {len(hits)} {what} from {sources} raster(s).", features=feats,
                        crs_wkt=CRS.from_string(WGS84).to_wkt(),
                        meta={"index": index_path, "query": prompt or what})
