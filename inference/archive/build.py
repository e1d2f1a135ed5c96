"""Index an archive of rasters once: every tile embedded with a CLIP model into one GeoPackage.

Tiles come from ``tiling.iter_tiles`` and are embedded by ``search``'s batched stream (the same
code the scene search runs), so an index tile scores exactly like a ``search`` tile. Re-indexing
is incremental: a file whose size and mtime are unchanged is skipped; one whose mtime changed but
whose SHA-256 is the same is only re-stamped; changed files are re-embedded; files that no longer
exist are removed. An index records its model and refuses another one.

Distributed: ``dask_address="local"`` (a LocalCluster) or a scheduler address spreads the files
over Dask workers (``pip install "dask[distributed]"``, optional). Each worker embeds whole files
and sends back a :class:`FilePart` (plain data); the client writes the parts into the one index,
in file order (not completion order), so the result, row ids included, is the same as a
serial run. Command line (``inference/archive/__main__.py``)::

    python -m eolens.inference.archive build INDEX.gpkg FOLDER_OR_GLOB... --model M \
        [--tile 224] [--overlap 0] [--device cpu] [--dask local|tcp://host:8786] [--workers 2]
    python -m eolens.inference.archive search INDEX.gpkg "a flooded road" [--top-k 10]
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..cancel import CancelToken, ProgressFn, ensure_token, noop_progress
from ..errors import Cancelled, EOLensError, InputError, ModelError
from ..io.file_walk import open_regular, walk_files
from .model import IndexSettings, load_backend, model_identity
from .store import FilePart, FileRecord, IndexStore, TileRecord

RASTER_EXTS = (".tif", ".tiff", ".jp2", ".img", ".vrt")  # PNG/JPEG chips rarely carry a CRS
_HASH_CHUNK = 1 << 20
EventFn = Callable[[str, str], None]  # (path, what happened) -> None


@dataclass
class IndexReport:
    """What one indexing run did: files added, updated, unchanged, removed and failed, and tile counts."""

    index: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)     # content changed: re-embedded
    unchanged: list[str] = field(default_factory=list)   # skipped (mtime-only changes included)
    removed: list[str] = field(default_factory=list)     # no longer on disk
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # never read: (path, why)
    tiles_embedded: int = 0
    tiles_total: int = 0

    @property
    def embedded_files(self) -> list[str]:
        """The files whose tiles were embedded in this run."""
        return self.added + self.updated

    def summary(self) -> str:
        """One line of counts, then one line per failed file."""
        text = (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
                f"{len(self.failed)} failed; {self.tiles_embedded} tiles embedded, "
                f"{self.tiles_total} in the index.")
        return (text + "".join(f"\nFailed: {p}: {msg}" for p, msg in self.failed)
                + "".join(f"\n{skip_text(p, why)}" for p, why in self.skipped))

    @property
    def warnings(self) -> list[str]:
        """One line per file that failed or was skipped, naming it and why."""
        return ([f"{p}: {msg}" for p, msg in self.failed]
                + [skip_text(p, why) for p, why in self.skipped])


def skip_text(path: str, why: str) -> str:
    """``Skipped 'path': why.`` (just ``why.`` for a limit of the walk, which has no path)."""
    why = why.rstrip(".")
    return f"Skipped '{path}': {why}." if path else f"{why}."


# --- which files -------------------------------------------------------------------------

def collect_rasters(inputs: Sequence[str] = (), folder: Optional[str] = None) -> list[str]:
    """Absolute, sorted, unique raster paths from files, globs and a folder (searched deeply)."""
    return find_rasters(inputs, folder)[0]


def find_rasters(inputs: Sequence[str] = (), folder: Optional[str] = None
                 ) -> tuple[list[str], list[tuple[str, str]]]:
    """(raster paths, skips): like :func:`collect_rasters`, with every entry passed over as
    ``(path, reason)``: a named pipe or device, a dangling or looping link, a folder link back
    into a folder already searched, an unreadable folder, or a limit of the walk."""
    items = [os.path.expanduser(str(i)) for i in list(inputs) + ([folder] if folder else [])]
    found = walk_files(items, RASTER_EXTS)
    if found.missing:
        raise InputError(f"'{found.missing[0]}' is neither a raster file, a folder nor a file "
                         "pattern.")
    skips = [(s.path, s.reason) for s in found.skipped]
    if found.more_skips:
        skips.append(("", f"{found.more_skips} more entries were skipped"))
    skips += [("", text) for text in found.limits]
    return sorted({os.path.abspath(p) for p in found.files}), skips


def sha256_file(path: str) -> str:
    """Hex SHA-256 of the regular file at ``path``, read in blocks."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _stat(path: str) -> FileRecord:
    st = os.stat(path)
    return FileRecord(path, int(st.st_size), int(st.st_mtime_ns), "")


@dataclass
class _Plan:
    todo: list[tuple[FileRecord, str]] = field(default_factory=list)  # (record, "added"/"updated")
    touched: list[FileRecord] = field(default_factory=list)           # same bytes, new mtime


def _plan(store: IndexStore, paths: list[str], report: IndexReport) -> _Plan:
    known, plan = store.files(), _Plan()
    for path in paths:
        try:
            rec = _stat(path)
        except OSError as err:
            report.failed.append((path, f"it cannot be read ({err.strerror or err})"))
            continue
        old = known.get(path)
        if old is not None and (old.size, old.mtime_ns) == (rec.size, rec.mtime_ns):
            report.unchanged.append(path)
            continue
        try:
            rec.sha256 = sha256_file(path)
        except OSError as err:
            report.failed.append((path, f"it cannot be read ({err.strerror or err})"))
            continue
        if old is not None and old.sha256 == rec.sha256:
            plan.touched.append(rec)
            report.unchanged.append(path)
        else:
            plan.todo.append((rec, "added" if old is None else "updated"))
    report.removed = sorted(p for p in known if not os.path.exists(p))
    return plan


# --- the model and its record in the index ------------------------------------------------

def _check_compatible(store: IndexStore, ident: dict, settings: IndexSettings) -> None:
    meta = store.meta()
    if "model_source" not in meta:
        return
    old = {k: meta.get(k, "") for k in ("model_source", "model_revision", "model_file")}
    new = {k: ident[k] for k in old}
    if old != new:
        raise ModelError(
            f"The index '{store.path}' was built with the model '{meta.get('model')}' "
            f"({meta['model_source']}{'@' + old['model_revision'] if old['model_revision'] else ''}); "
            f"embeddings of '{ident['model']}' cannot be mixed with it. "
            "Choose that model again or a new index file.")
    for key, value in (("tile_size", settings.tile), ("overlap", settings.overlap)):
        if meta.get(key) not in (None, str(value)):
            raise InputError(f"The index '{store.path}' uses {key.replace('_', ' ')} "
                             f"{meta[key]}, not {value}; keep it or choose a new index file.")


# --- embedding one file -------------------------------------------------------------------

def _crs_label(crs_wkt: str) -> str:
    from rasterio.crs import CRS

    crs = CRS.from_wkt(crs_wkt)
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs_wkt


def _to_wgs84(geoms: list, crs_wkt: str) -> list:
    """Tile quads in EPSG:4326, all corners through one PROJ call."""
    from rasterio.warp import transform as warp
    from shapely.geometry import Polygon

    rings = [np.asarray(g.exterior.coords) for g in geoms]
    xy = np.concatenate(rings)
    lon, lat = warp(crs_wkt, "EPSG:4326", xy[:, 0].tolist(), xy[:, 1].tolist())
    lonlat = np.column_stack((lon, lat))
    bounds = np.cumsum([0] + [len(r) for r in rings])
    return [Polygon(lonlat[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def embed_file(backend: Any, rec: FileRecord, settings: IndexSettings,
               progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelToken] = None) -> FilePart:
    """Every tile of one raster (native resolution) with its footprint and embedding."""
    from ..search import TileScores, embed_stream
    from ..tiling import count_tiles, iter_tiles

    path, cancel = rec.path, ensure_token(cancel)
    bands = list(settings.bands) if settings.bands else None
    total = count_tiles(path, tile=settings.tile, overlap=settings.overlap)
    tiles = iter_tiles(path, tile=settings.tile, overlap=settings.overlap, bands=bands,
                       cancel=cancel)
    scores = TileScores()
    kept, vectors = [], []
    for records, emb in embed_stream(backend, tiles, settings.batch_size, settings.min_valid,
                                      progress, cancel, total, scores):
        ok = np.isfinite(emb).all(axis=1)
        kept += [r for r, good in zip(records, ok) if good]
        vectors.append(emb[ok])
    crs = _crs_label(scores.crs_wkt) if scores.crs_wkt else ""
    wgs84 = _to_wgs84([r.footprint for r in kept], scores.crs_wkt) if kept else []
    tiles_out = [TileRecord(g, *r.window, crs=crs, footprint=r.footprint)
                 for r, g in zip(kept, wgs84)]
    rec = FileRecord(rec.path, rec.size, rec.mtime_ns, rec.sha256, crs, len(tiles_out))
    dim = vectors[0].shape[1] if vectors else 0
    return FilePart(rec, tiles_out, np.concatenate(vectors) if vectors else
                    np.zeros((0, dim), np.float32))


# --- the build ----------------------------------------------------------------------------

def build_index(index_path: str, paths: Sequence[str], settings: IndexSettings, *,
                dask_address: Optional[str] = None, workers: int = 2,
                progress: Optional[ProgressFn] = None, cancel: Optional[CancelToken] = None,
                on_event: Optional[EventFn] = None,
                skipped: Sequence[tuple[str, str]] = ()) -> IndexReport:
    """Create or update the index at ``index_path`` from the rasters ``paths``.

    A file that fails is reported (``report.failed``) and skipped; each finished file is
    committed at once, so Cancel keeps the files done so far. ``skipped`` are the entries the
    search for rasters passed over (:func:`find_rasters`), carried into ``report.skipped``.
    """
    progress, cancel = progress or noop_progress, ensure_token(cancel)
    on_event = on_event or (lambda path, what: None)
    if settings.tile <= 0 or not 0 <= settings.overlap < settings.tile:
        raise InputError(f"TILE_SIZE {settings.tile} and OVERLAP {settings.overlap}: "
                         "need 0 <= overlap < tile size.")
    paths = sorted({os.path.abspath(os.fspath(p)) for p in paths})
    ident = model_identity(settings.model)
    report = IndexReport(os.path.abspath(os.fspath(index_path)), skipped=list(skipped))
    with IndexStore(index_path) as store:
        _check_compatible(store, ident, settings)
        plan = _plan(store, paths, report)
        for path in report.removed:
            store.remove_file(path)
            on_event(path, "removed")
        for rec in plan.touched:
            store.touch_file(rec)
        store.db.commit()
        parts = (_dask_parts(plan.todo, settings, dask_address, workers, cancel)
                 if dask_address and plan.todo else
                 _serial_parts(plan.todo, settings, progress, cancel))
        for i, ((rec, kind), part) in enumerate(parts):
            if isinstance(part, str):
                report.failed.append((rec.path, part))
                on_event(rec.path, f"failed: {part}")
            else:
                _add(store, part, ident, settings)
                getattr(report, kind).append(rec.path)
                report.tiles_embedded += len(part.tiles)
                on_event(rec.path, f"{kind}: {len(part.tiles)} tiles")
            progress(100.0 * (i + 1) / len(plan.todo))
        store.refresh_extent()
        report.tiles_total = store.count()
    progress(100.0)
    return report


def _add(store: IndexStore, part: FilePart, ident: dict, settings: IndexSettings) -> None:
    dim = int(part.vectors.shape[1]) if part.vectors.size else 0
    known = int(store.meta().get("dim", 0) or 0)
    if dim and known and dim != known:
        raise ModelError(f"'{part.file.path}' gave {dim}-d embeddings but the index holds "
                         f"{known}-d ones.")
    store.add_part(part)
    store.set_meta({**ident, "tile_size": settings.tile, "overlap": settings.overlap,
                    **({"dim": dim} if dim and not known else {})})
    store.db.commit()


def _failure(err: BaseException) -> str:
    return str(err) if isinstance(err, EOLensError) else f"{type(err).__name__}: {err}"


def _serial_parts(todo, settings: IndexSettings, progress: ProgressFn, cancel: CancelToken):
    if not todo:
        return
    backend = load_backend(settings, None, cancel)
    span = 100.0 / len(todo)
    for i, (rec, kind) in enumerate(todo):
        cancel.check()

        def tile_progress(p: float, i: int = i) -> None:
            progress(span * (i + p / 100.0))

        try:
            part: Any = embed_file(backend, rec, settings, tile_progress, cancel)
        except Cancelled:
            raise
        except Exception as err:  # noqa: BLE001 - a bad file is reported and skipped
            part = _failure(err)
        yield (rec, kind), part


def _worker_embed(rec: FileRecord, settings: IndexSettings):
    """Runs on a Dask worker: the model is loaded once per worker process (runtime cache)."""
    try:
        return embed_file(load_backend(settings), rec, settings)
    except Exception as err:  # noqa: BLE001 - reported by the client, not fatal
        return _failure(err)


def _dask_parts(todo, settings: IndexSettings, address: str, workers: int, cancel: CancelToken):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as err:
        raise InputError("Distributed indexing needs Dask: pip install \"dask[distributed]\" "
                         "(or index without --dask).") from err
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(cluster if cluster is not None else address)
    try:
        futures = [client.submit(_worker_embed, rec, settings, pure=False) for rec, _ in todo]
        yield from _in_file_order(todo, futures, as_completed, client, cancel)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _in_file_order(todo, futures, as_completed, client, cancel: CancelToken):
    """Parts yielded in the order of ``todo`` (sorted paths), whatever order workers finish in,
    so a distributed build gives every tile the same row id as a serial one. Parts that finish
    early wait in ``ready`` until those before them are written."""
    position = {future.key: i for i, future in enumerate(futures)}
    ready: dict[int, Any] = {}
    nxt = 0
    for future in as_completed(list(futures)):
        if cancel.is_set():
            client.cancel(futures)
            cancel.check()
        ready[position[future.key]] = future.result()
        future.release()  # the worker drops its copy
        while nxt in ready:
            yield todo[nxt], ready.pop(nxt)
            nxt += 1
