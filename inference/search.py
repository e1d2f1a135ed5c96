"""Text-to-tile search and zero-shot tile maps over a scene, with a CLIP-style backend.

Tiles stream through in batches: only one batch of pixels is held at a time, cancel is checked
and progress reported per batch. Each tile keeps its footprint in the tiles' CRS, so results
become ranked footprint features (``top``) and a heat raster on a tile-centre grid (``grid``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np
from affine import Affine

from .cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from .models.clip_family import RS_TEMPLATES
from .errors import InputError
from .io.geoimage import GeoImage
from .io.georef import GeoFeature


@dataclass
class TileScore:
    """One tile: where it is and how well it matched."""

    index: int
    window: tuple[int, int, int, int]   # (col_off, row_off, width, height) in the source raster
    transform: Affine                   # the tile's own pixel -> map transform
    footprint: Any                      # shapely Polygon in the tiles' CRS
    score: float                        # NaN when the tile was skipped (too little valid data)


@dataclass
class TileScores:
    """Per-tile values plus the geometry to turn them into features and a raster."""

    crs_wkt: str = ""
    tiles: list[TileScore] = field(default_factory=list)
    skipped: int = 0                    # tiles below ``min_valid`` (score NaN, never encoded)
    source_transform: Affine = Affine.identity()  # pixel -> map of the grid windows refer to

    @property
    def scores(self) -> np.ndarray:
        """The tiles' scores as a float32 array, in tile order."""
        return np.array([t.score for t in self.tiles], dtype=np.float32)

    def grid(self, values: Optional[np.ndarray] = None, fill: float = np.nan
             ) -> tuple[np.ndarray, Affine]:
        """A 2-D array over tile positions and its affine (cells centred on tile centres).

        Cell size is the tile stride, so cells tile the scene without gaps; a last tile shifted
        to fit the raster edge is drawn at the regular position.
        """
        if not self.tiles:
            raise InputError("No tiles were searched.")
        values = self.scores if values is None else np.asarray(values)
        cols, rows, (sx, sy), origin = _tile_layout(self)
        col_rank = {c: i for i, c in enumerate(sorted(set(cols)))}
        row_rank = {r: i for i, r in enumerate(sorted(set(rows)))}
        out = np.full((len(row_rank), len(col_rank)), fill, dtype=values.dtype)
        for c, r, v in zip(cols, rows, values):
            out[row_rank[r], col_rank[c]] = v
        return out, origin * Affine.scale(sx, sy)


def coverage_grid(result: TileScores, values: Optional[np.ndarray] = None, cells_per_tile: int = 4,
                  fill: float = np.nan) -> tuple[np.ndarray, Affine]:
    """Per-tile values painted over exactly the area the tiles cover (no overhang past the raster).

    Each tile becomes about ``cells_per_tile`` cells a side; cells are stretched so the grid ends
    flush with the last (edge-shifted) tile. Overlaps keep the larger value.
    """
    if not result.tiles:
        raise InputError("No tiles were searched.")
    values = result.scores if values is None else np.asarray(values, np.float32)
    wins = np.array([t.window for t in result.tiles], dtype=float)
    x0, y0 = wins[:, 0].min(), wins[:, 1].min()
    span_x, span_y = (wins[:, 0] + wins[:, 2]).max() - x0, (wins[:, 1] + wins[:, 3]).max() - y0
    nx = max(1, round(span_x * cells_per_tile / np.median(wins[:, 2])))
    ny = max(1, round(span_y * cells_per_tile / np.median(wins[:, 3])))
    cw, ch = span_x / nx, span_y / ny
    out = np.full((ny, nx), fill, np.float32)
    for (c, r, w, h), v in zip(wins, values):
        c0, c1 = int(np.floor((c - x0) / cw + 1e-9)), int(np.ceil((c + w - x0) / cw - 1e-9))
        r0, r1 = int(np.floor((r - y0) / ch + 1e-9)), int(np.ceil((r + h - y0) / ch - 1e-9))
        out[r0:r1, c0:c1] = np.fmax(out[r0:r1, c0:c1], v)
    return out, result.source_transform * Affine.translation(x0, y0) * Affine.scale(cw, ch)


@dataclass
class SearchResult(TileScores):
    """Cosine similarity of every tile to the query."""

    query: str = ""
    top_k: int = 10

    def top(self, k: Optional[int] = None) -> list[GeoFeature]:
        """Best ``k`` tiles as GeoFeatures (footprint + rank, score, tile window), best first."""
        k = self.top_k if k is None else k
        scores = self.scores
        order = [i for i in np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
                 if np.isfinite(scores[i])][:k]
        return [_feature(self.tiles[i], rank + 1, {"query": self.query})
                for rank, i in enumerate(order)]

    def heat_grid(self) -> tuple[np.ndarray, Affine]:
        """float32 similarity raster over tile positions (NaN where skipped) and its affine."""
        return self.grid()


@dataclass
class ZeroShotResult(TileScores):
    """Per-tile class probabilities; ``TileScore.score`` is the winning class's probability."""

    classes: list[str] = field(default_factory=list)
    probs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    @property
    def labels(self) -> np.ndarray:
        """(N,) winning class index per tile, -1 where skipped."""
        if self.probs.size == 0:
            return np.full(len(self.tiles), -1, np.int16)
        valid = np.isfinite(self.probs).all(axis=1)
        return np.where(valid, np.nan_to_num(self.probs, nan=-1).argmax(axis=1), -1).astype(np.int16)

    def class_grid(self) -> tuple[np.ndarray, Affine]:
        """int16 land-cover raster over tile positions (-1 = no data) and its affine."""
        return self.grid(self.labels, fill=-1)


def search_tiles(backend: Any, tiles: Iterable[GeoImage], query: str, *, batch_size: int = 32,
                 top_k: int = 10, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelToken] = None, total: Optional[int] = None,
                 templates: Sequence[str] = RS_TEMPLATES, min_valid: float = 0.25
                 ) -> SearchResult:
    """Score every tile against ``query`` (prompt-templated for overhead imagery)."""
    if not query.strip():
        raise InputError("Type what to search for.")
    text = backend.embed_phrases([query], templates)[0]
    result = SearchResult(query=query, top_k=top_k)
    for records, emb in embed_stream(backend, tiles, batch_size, min_valid, progress, cancel,
                                      total, result):
        for rec, score in zip(records, emb @ text):
            rec.score = float(score)
    return result


def zero_shot_map(backend: Any, tiles: Iterable[GeoImage], classes: list[str], *,
                  batch_size: int = 32, progress: Optional[ProgressFn] = None,
                  cancel: Optional[CancelToken] = None, total: Optional[int] = None,
                  templates: Sequence[str] = RS_TEMPLATES, min_valid: float = 0.25
                  ) -> ZeroShotResult:
    """Classify every tile into one of ``classes`` (a coarse land-cover map)."""
    if not classes:
        raise InputError("Give at least one class name.")
    text = backend.embed_phrases(list(classes), templates)
    result = ZeroShotResult(classes=list(classes))
    probs = []
    for records, emb in embed_stream(backend, tiles, batch_size, min_valid, progress, cancel,
                                      total, result):
        batch = backend.class_scores(emb @ text.T)  # NaN rows stay NaN
        for rec, row in zip(records, batch):
            rec.score = float(np.max(row)) if np.isfinite(row).all() else float("nan")
        probs.append(batch.astype(np.float32))
    result.probs = np.concatenate(probs) if probs else np.zeros((0, len(classes)), np.float32)
    return result


def search_raster(backend: Any, path: str, query: str, bounds=None, bounds_crs=None, *,
                  tile: int = 224, overlap: int = 0, bands: Optional[Sequence[int]] = None,
                  max_side: Optional[int] = None, cancel: Optional[CancelToken] = None,
                  **options: Any) -> SearchResult:
    """``search_tiles`` over a raster file tiled by ``tiling.iter_tiles``; ``options`` go to
    ``search_tiles`` (batch_size, top_k, progress, templates, min_valid)."""
    from .tiling import count_tiles, iter_tiles

    total = count_tiles(path, bounds, bounds_crs, tile=tile, overlap=overlap, max_side=max_side)
    tiles = iter_tiles(path, bounds, bounds_crs, tile=tile, overlap=overlap, bands=bands,
                       max_side=max_side, cancel=cancel)
    return search_tiles(backend, tiles, query, total=total, cancel=cancel, **options)


def embed_stream(backend, tiles, batch_size, min_valid, progress, cancel, total,
                  result: TileScores) -> Iterator[tuple[list[TileScore], np.ndarray]]:
    """Yield (records, (n, D) embeddings with NaN rows for skipped tiles) per batch."""
    cancel, progress = ensure_token(cancel), progress or noop_progress
    total = total if total is not None else (len(tiles) if hasattr(tiles, "__len__") else None)
    seen, it = 0, iter(tiles)
    while True:
        cancel.check()  # before pulling the next batch: a cancelled search reads no more tiles
        batch = list(islice(it, max(1, batch_size)))
        if not batch:
            break
        records = [_record(t, seen + i, result) for i, t in enumerate(batch)]  # appends
        keep = [i for i, t in enumerate(batch) if _valid_fraction(t) >= max(min_valid, 1e-9)]
        emb = None
        if keep:
            enc = backend.encode_images([batch[i].rgb for i in keep], len(keep), cancel)
            emb = np.full((len(batch), enc.shape[1]), np.nan, np.float32)
            emb[keep] = enc
        result.skipped += len(batch) - len(keep)
        seen += len(batch)
        if total:
            progress(min(100.0, 100.0 * seen / total))
        if emb is not None:
            yield records, emb
    progress(100.0)


def _record(tile: GeoImage, seen: int, result: TileScores) -> TileScore:
    window = tile.meta.get("window")
    if window is None:  # any iterable of tiles: place it on the first tile's pixel grid
        first = result.source_transform if result.tiles else tile.transform
        col, row = ~first * (tile.transform.c, tile.transform.f)
        window = (round(col), round(row), tile.width, tile.height)
    window = tuple(int(v) for v in window)
    if not result.tiles:
        result.crs_wkt = tile.crs_wkt
        # The tiler may downsample: tile pixels -> window pixels, then shift to the window.
        result.source_transform = (tile.transform * Affine.scale(tile.width / window[2],
                                                                 tile.height / window[3])
                                   * Affine.translation(-window[0], -window[1]))
    record = TileScore(index=int(tile.meta.get("index", seen)), window=window,
                       transform=tile.transform, footprint=tile.footprint(), score=float("nan"))
    result.tiles.append(record)
    return record


def _valid_fraction(tile: GeoImage) -> float:
    return float(np.mean(tile.valid)) if tile.valid is not None and tile.valid.size else 1.0


def _tile_layout(result: TileScores):
    """Tile offsets, stride (source pixels) and the affine of the grid's top-left cell corner."""
    tiles = result.tiles
    cols = [t.window[0] for t in tiles]
    rows = [t.window[1] for t in tiles]
    width = float(np.median([t.window[2] for t in tiles]))
    height = float(np.median([t.window[3] for t in tiles]))
    sx, sy = _stride(cols, width), _stride(rows, height)
    origin = result.source_transform * Affine.translation(min(cols) + (width - sx) / 2,
                                                          min(rows) + (height - sy) / 2)
    return cols, rows, (sx, sy), origin


def _stride(offsets: list[int], size: float) -> float:
    diffs = np.diff(sorted(set(offsets)))
    return float(np.median(diffs)) if diffs.size else size


def _feature(tile: TileScore, rank: int, extra: dict):
    col, row, w, h = tile.window
    props = {"rank": rank, "score": round(tile.score, 6), "tile": tile.index,
             "col_off": col, "row_off": row, "width": w, "height": h, **extra}
    return GeoFeature(tile.footprint, props)
