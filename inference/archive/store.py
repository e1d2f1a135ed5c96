"""The archive index file: one GeoPackage, written with the stdlib ``sqlite3`` (no OGR needed).

A GeoPackage is SQLite with a few registry tables (OGC 12-128r18), so QGIS, GDAL and any SQLite
client open the index directly. Tables:

* ``eolens_tiles`` (features, EPSG:4326 polygons): one row per tile — source path, pixel window,
  the source CRS and the footprint in that CRS (WKT). EPSG:4326 because one geometry column has
  one CRS and an archive mixes UTM zones and geographic rasters.
* ``eolens_embeddings`` (attributes): ``tile_fid`` -> float32 little-endian vector (L2-normalised).
* ``eolens_files`` (attributes): path, size, mtime, sha256 and tile count per indexed raster.
* ``eolens_meta`` (attributes): model id and revision, embedding size, tile size, overlap
  (an INTEGER ``fid`` key as GeoPackage Req 119 asks; an older TEXT-keyed table is migrated
  when the index is next written, and read as it is by a search).
* ``eolens_ann`` (attributes): a serialised approximate-search index and the tile set it covers.

A build opens the index for writing and holds an exclusive lock on it (``lock.py``); a search
opens it read-only, so an index in a read-only folder can still be searched.
"""
from __future__ import annotations

import os
import sqlite3  # SQL below formats only module-constant table names (nosec B608); values are bound
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

import numpy as np
from shapely import wkb as shapely_wkb
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from .lock import IndexLock

FORMAT_VERSION = "1"
TILES, EMBEDDINGS, FILES, META, ANN = ("eolens_tiles", "eolens_embeddings", "eolens_files",
                                       "eolens_meta", "eolens_ann")
_GPKG_APP_ID = 0x47504B47  # "GPKG"
_GPKG_VERSION = 10200
_PAGE_SIZE = 65536  # many vectors per page: ~3 % slack for 512-d float32 rows
_WGS84_WKT = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
              'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
              'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
              'AUTHORITY["EPSG","4326"]]')

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT
  (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE,
  max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id)
  REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE IF NOT EXISTS {FILES} (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL, crs TEXT, tiles INTEGER NOT NULL,
  indexed_at TEXT);
CREATE TABLE IF NOT EXISTS {TILES} (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, geom POLYGON, file_id INTEGER NOT NULL,
  source TEXT NOT NULL, col_off INTEGER, row_off INTEGER, width INTEGER, height INTEGER,
  crs TEXT, footprint TEXT);
CREATE INDEX IF NOT EXISTS {TILES}_file ON {TILES}(file_id);
CREATE TABLE IF NOT EXISTS {EMBEDDINGS} (tile_fid INTEGER PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS {META} (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, value TEXT);
CREATE TABLE IF NOT EXISTS {ANN} (name TEXT PRIMARY KEY, tiles INTEGER, stamp TEXT, blob BLOB);
"""


@dataclass
class FileRecord:
    """One indexed raster: path, size, mtime, SHA-256, CRS and tile count."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    crs: str = ""
    tiles: int = 0


@dataclass
class TileRecord:
    """One tile as stored: ``geom`` in EPSG:4326, ``footprint`` in the source ``crs``."""

    geom: BaseGeometry
    col_off: int
    row_off: int
    width: int
    height: int
    crs: str
    footprint: BaseGeometry


@dataclass
class FilePart:
    """Everything one raster contributes to an index: plain data, so it can cross processes."""

    file: FileRecord
    tiles: list[TileRecord] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))


def gpkg_geometry(geom: BaseGeometry, srs_id: int = 4326) -> bytes:
    """GeoPackage binary: 'GP', version 0, flags (little endian, xy envelope), srs id, WKB."""
    minx, miny, maxx, maxy = geom.bounds
    header = b"GP" + bytes([0, 0b0000_0011]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy)
    return header + geom.wkb  # WKB carries its own byte order


def parse_gpkg_geometry(blob: bytes) -> BaseGeometry:
    """A shapely geometry from a GeoPackage geometry blob (header and envelope skipped)."""
    if blob[:2] != b"GP":
        raise InputError("Not a GeoPackage geometry.")
    envelope = (blob[3] >> 1) & 0b111
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[envelope]
    return shapely_wkb.loads(bytes(blob[8 + size:]))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


class IndexStore:
    """Open (or create) an index file; use as a context manager, changes commit on success.

    ``create=True`` opens it for writing: the folder must be writable and no other run may be
    writing the same index (an exclusive lock, released on exit or crash). ``create=False``
    opens an existing index read-only, so an index in a read-only folder can still be searched.
    """

    def __init__(self, path, *, create: bool = True) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.writable = create
        self._lock: Optional[IndexLock] = None
        if create:
            self._open_for_writing()
        else:
            check_index_file(self.path)
            self.db = sqlite3.connect(_read_only_uri(self.path), uri=True)

    def _open_for_writing(self) -> None:
        folder = os.path.dirname(self.path)
        if not os.path.isdir(folder):
            raise InputError(f"INDEX: the folder of the index '{self.path}' does not exist.")
        if os.path.isdir(self.path):
            raise InputError(f"INDEX: '{self.path}' is a folder; give a .gpkg file name.")
        if not os.access(folder, os.W_OK | os.X_OK) or (
                os.path.exists(self.path) and not os.access(self.path, os.W_OK)):
            raise _read_only(self.path)
        if os.path.exists(self.path):
            check_index_file(self.path, building=True)
        try:
            self._lock = IndexLock(self.path).acquire()
        except OSError as err:  # cannot even open the file for writing
            raise _read_only(self.path) from err
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            self._init()
        except BaseException as err:
            self._abandon()
            if isinstance(err, sqlite3.OperationalError) and _is_read_only(err):
                raise _read_only(self.path) from err
            if isinstance(err, sqlite3.DatabaseError):
                raise InputError(f"INDEX: '{self.path}' is not an EO Lens index (not a "
                                 "GeoPackage database); choose a new file name for the index."
                                 ) from err
            raise

    def _abandon(self) -> None:
        """A failed open: close, release the lock and remove the file if this open created it."""
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        if self._lock is not None:
            self._lock.release()
            if self._lock.created and os.path.exists(self.path):
                os.remove(self.path)
            self._lock = None

    def _init(self) -> None:
        db = self.db
        fresh = not db.execute("SELECT name FROM sqlite_master WHERE name=?", (TILES,)).fetchone()
        if fresh and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise InputError(f"INDEX: '{self.path}' is a database but not an EO Lens index; "
                             "choose a new file name for the index.")
        if fresh:  # before the first table: one 2 KiB vector per 4 KiB default page wastes half
            db.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        else:
            _migrate_meta(db)
        db.executescript(_SCHEMA)
        if fresh:
            db.execute(f"PRAGMA application_id = {_GPKG_APP_ID}")
            db.execute(f"PRAGMA user_version = {_GPKG_VERSION}")
            db.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", [
                ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", ""),
                ("Undefined geographic SRS", 0, "NONE", 0, "undefined", ""),
                ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude")])
            contents = [(TILES, "features", "EO Lens tiles", 4326),
                        (EMBEDDINGS, "attributes", "EO Lens embeddings", None),
                        (FILES, "attributes", "EO Lens indexed files", None),
                        (META, "attributes", "EO Lens index metadata", None)]
            db.executemany("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)"
                           " VALUES (?,?,?,?)", contents)
            db.execute("INSERT INTO gpkg_geometry_columns VALUES (?,?,?,?,?,?)",
                       (TILES, "geom", "POLYGON", 4326, 0, 0))
            db.execute(f"INSERT INTO {META} (key, value) VALUES ('format_version', ?)",  # nosec B608
                       (FORMAT_VERSION,))
        db.commit()

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> "IndexStore":
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None and self.writable:
            self.db.commit()
        elif self.writable:
            self.db.rollback()
        self._close()

    def close(self) -> None:
        """Commit and close the index file."""
        if self.writable:
            self.db.commit()
        self._close()

    def _close(self) -> None:
        self.db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- metadata ------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """The index's metadata as a dict of strings."""
        return dict(self.db.execute(f"SELECT key, value FROM {META}"))  # nosec B608

    def set_meta(self, values: dict) -> None:
        """Add or replace metadata items (values stored as text)."""
        self.db.executemany(f"INSERT INTO {META} (key, value) VALUES (?, ?) "  # nosec B608
                            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                            [(k, str(v)) for k, v in values.items()])

    # -- files -----------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        """Every indexed file's record, by path."""
        rows = self.db.execute(f"SELECT path, size, mtime_ns, sha256, crs, tiles FROM {FILES}")  # nosec B608
        return {r[0]: FileRecord(*r) for r in rows}

    def touch_file(self, rec: FileRecord) -> None:
        """Same content, new mtime: remember it so the next run skips the checksum."""
        self.db.execute(f"UPDATE {FILES} SET mtime_ns=?, size=? WHERE path=?",  # nosec B608
                        (rec.mtime_ns, rec.size, rec.path))

    def remove_file(self, path: str) -> int:
        """Drop a file and its tiles and embeddings; returns the tiles removed."""
        row = self.db.execute(f"SELECT fid FROM {FILES} WHERE path=?", (path,)).fetchone()  # nosec B608
        if row is None:
            return 0
        self.db.execute(f"DELETE FROM {EMBEDDINGS} WHERE tile_fid IN "  # nosec B608
                        f"(SELECT fid FROM {TILES} WHERE file_id=?)", row)
        n = self.db.execute(f"DELETE FROM {TILES} WHERE file_id=?", row).rowcount  # nosec B608
        self.db.execute(f"DELETE FROM {FILES} WHERE fid=?", row)  # nosec B608
        return n

    def add_part(self, part: FilePart) -> int:
        """Replace whatever the index holds for ``part.file.path`` by ``part``; returns tiles."""
        self.remove_file(part.file.path)
        f = part.file
        cur = self.db.execute(
            f"INSERT INTO {FILES} (path, size, mtime_ns, sha256, crs, tiles, indexed_at)"  # nosec B608
            " VALUES (?,?,?,?,?,?,?)", (f.path, f.size, f.mtime_ns, f.sha256, f.crs,
                                       len(part.tiles), _now()))
        file_id = cur.lastrowid
        vectors = np.ascontiguousarray(part.vectors, dtype="<f4")
        for tile, vec in zip(part.tiles, vectors):
            cur = self.db.execute(
                f"INSERT INTO {TILES} (geom, file_id, source, col_off, row_off, width, height, "  # nosec B608
                "crs, footprint) VALUES (?,?,?,?,?,?,?,?,?)",
                (gpkg_geometry(tile.geom), file_id, f.path, tile.col_off, tile.row_off,
                 tile.width, tile.height, tile.crs, tile.footprint.wkt))
            self.db.execute(f"INSERT INTO {EMBEDDINGS} VALUES (?, ?)", (cur.lastrowid, vec.tobytes()))  # nosec B608
        return len(part.tiles)

    def refresh_extent(self) -> None:
        """Write the tiles' extent into gpkg_contents (QGIS zooms to it); once per build."""
        env = self._envelope()
        self.db.execute("UPDATE gpkg_contents SET last_change=?, min_x=?, min_y=?, max_x=?, "
                        "max_y=? WHERE table_name=?", (_now(), *env, TILES))

    def _envelope(self) -> tuple:
        minx = miny = np.inf
        maxx = maxy = -np.inf
        for (blob,) in self.db.execute(f"SELECT substr(geom, 9, 32) FROM {TILES}"):  # nosec B608
            x0, x1, y0, y1 = struct.unpack("<4d", blob)
            minx, maxx, miny, maxy = min(minx, x0), max(maxx, x1), min(miny, y0), max(maxy, y1)
        return (None,) * 4 if minx == np.inf else (minx, miny, maxx, maxy)

    # -- reading -----------------------------------------------------------------------------
    def count(self) -> int:
        """How many tile embeddings the index holds."""
        return int(self.db.execute(f"SELECT count(*) FROM {EMBEDDINGS}").fetchone()[0])  # nosec B608

    def stamp(self) -> str:
        """Changes whenever tiles are added or removed (for a stale approximate index)."""
        row = self.db.execute(f"SELECT count(*), coalesce(max(tile_fid), 0), "  # nosec B608
                              f"coalesce(sum(tile_fid), 0) FROM {EMBEDDINGS}").fetchone()
        return "/".join(map(str, row))

    def iter_vectors(self, chunk: int = 65536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(fids (n,), vectors (n, D) float32) in fid order, ``chunk`` rows at a time."""
        dim = int(self.meta().get("dim", 0) or 0)
        cur = self.db.execute(f"SELECT tile_fid, vector FROM {EMBEDDINGS} ORDER BY tile_fid")  # nosec B608
        while True:
            rows = cur.fetchmany(chunk)
            if not rows:
                return
            fids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
            vecs = np.frombuffer(b"".join(r[1] for r in rows), "<f4").reshape(len(rows), -1)
            if dim and vecs.shape[1] != dim:
                raise InputError(f"The index '{self.path}' holds vectors of the wrong size.")
            yield fids, vecs

    def vectors(self, fids: Iterable[int]) -> np.ndarray:
        """The embeddings of tiles ``fids``, as rows in the order given."""
        fids = [int(f) for f in fids]
        got: dict[int, bytes] = {}
        for start in range(0, len(fids), 900):  # SQLite's variable limit
            part = fids[start:start + 900]
            marks = ",".join("?" * len(part))
            got.update(self.db.execute(f"SELECT tile_fid, vector FROM {EMBEDDINGS} "  # nosec B608
                                       f"WHERE tile_fid IN ({marks})", part))
        return np.stack([np.frombuffer(got[f], "<f4") for f in fids]) if fids else \
            np.zeros((0, 0), np.float32)

    def tiles(self, fids: Optional[Iterable[int]] = None) -> list[dict]:
        """Tile rows as dicts (``geom`` parsed to shapely), all or those of ``fids`` in order."""
        cols = "fid, geom, source, col_off, row_off, width, height, crs, footprint"
        if fids is None:
            rows = self.db.execute(f"SELECT {cols} FROM {TILES} ORDER BY fid").fetchall()  # nosec B608
        else:
            fids = [int(f) for f in fids]
            by_fid = {}
            for start in range(0, len(fids), 900):
                part = fids[start:start + 900]
                marks = ",".join("?" * len(part))
                for r in self.db.execute(f"SELECT {cols} FROM {TILES} WHERE fid IN ({marks})",  # nosec B608
                                         part):
                    by_fid[r[0]] = r
            rows = [by_fid[f] for f in fids if f in by_fid]
        names = cols.split(", ")
        out = []
        for r in rows:
            d = dict(zip(names, r))
            d["geom"] = parse_gpkg_geometry(d["geom"])
            out.append(d)
        return out

    # -- approximate index blob ------------------------------------------------------------
    def load_ann(self, name: str) -> Optional[tuple[str, bytes]]:
        """The stored approximate index ``name`` as (stamp, blob), or None."""
        if not _has_table(self.db, ANN):
            return None
        row = self.db.execute(f"SELECT stamp, blob FROM {ANN} WHERE name=?", (name,)).fetchone()  # nosec B608
        return (row[0], bytes(row[1])) if row else None

    def save_ann(self, name: str, stamp: str, blob: bytes) -> None:
        """Store the approximate index ``name`` with the stamp of the tiles it covers.

        A search opens the index read-only; the graph is then written through a short second
        connection, and kept only in memory when that fails (read-only folder, a build busy)."""
        row = (name, self.count(), stamp, sqlite3.Binary(blob))
        sql = f"INSERT OR REPLACE INTO {ANN} VALUES (?,?,?,?)"  # nosec B608
        if self.writable:
            self.db.execute(sql, row)
            self.db.commit()
            return
        try:
            db = sqlite3.connect(self.path, timeout=1)
            try:
                db.execute(sql, row)
                db.commit()
            finally:
                db.close()
        except sqlite3.Error:
            return


# --- opening: checks and the old metadata table ---------------------------------------------

def _read_only_uri(path: str) -> str:
    """``file:`` URI opening ``path`` read-only (percent-encoded; ``file:///C:/…`` on Windows)."""
    from pathlib import Path

    return Path(os.path.abspath(path)).as_uri() + "?mode=ro"


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                      (name,)).fetchone() is not None


def _is_read_only(err: sqlite3.OperationalError) -> bool:
    text = str(err).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text


def _read_only(path: str) -> InputError:
    folder = os.path.dirname(path)
    return InputError(f"INDEX: the index '{path}' cannot be written: the folder '{folder}' or "
                      "the file is read-only (permission denied). Choose an index in a folder "
                      "you can write to.")


def check_index_file(path: str, *, building: bool = False) -> None:
    """Raise a named :class:`InputError` unless ``path`` is an existing EO Lens index.

    ``building``: the advice is for ``eolens:index`` (choose a new file name); otherwise for a
    search (pick an index built by ``eolens:index``). Opens the file read-only, writes nothing.
    """
    if not os.path.exists(path):
        raise InputError(f"INDEX: the index file '{path}' does not exist; build it with "
                         "eolens:index.")
    if os.path.isdir(path):
        raise InputError(f"INDEX: '{path}' is a folder, not an index file.")
    if building and os.path.getsize(path) == 0:
        return  # an empty file becomes a new index
    advice = ("choose a new file name for the index" if building else
              "pick an index file built by eolens:index (Index rasters)")
    if not os.access(path, os.R_OK):
        raise InputError(f"INDEX: the index '{path}' cannot be read (permission denied).")
    try:
        db = sqlite3.connect(_read_only_uri(path), uri=True)
        try:
            ours = _has_table(db, TILES) and _has_table(db, EMBEDDINGS) and _has_table(db, META)
        finally:
            db.close()
    except sqlite3.DatabaseError as err:
        raise InputError(f"INDEX: '{path}' is not an EO Lens index (not a GeoPackage "
                         f"database); {advice}.") from err
    if not ours:
        raise InputError(f"INDEX: '{path}' is a GeoPackage but not an EO Lens index; {advice}.")


def _migrate_meta(db: sqlite3.Connection) -> None:
    """An index from before format 1.1 keyed ``eolens_meta`` by TEXT (GeoPackage Req 119 wants
    an INTEGER primary key): copy it into the new table, in one transaction."""
    cols = [r[1] for r in db.execute(f"PRAGMA table_info({META})")]  # nosec B608
    if not cols or "fid" in cols:
        return
    db.executescript(f"""BEGIN;
        ALTER TABLE {META} RENAME TO {META}_old;
        CREATE TABLE {META} (fid INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
                             value TEXT);
        INSERT INTO {META} (key, value) SELECT key, value FROM {META}_old;
        DROP TABLE {META}_old;
        COMMIT;""")  # nosec B608
