"""Replace one layer of an existing GeoPackage in place, all or nothing.

Why in place: QGIS keeps a GeoPackage open while any of its layers is loaded, and on Windows a file
another process holds open cannot be replaced (WinError 32), so writing a copy and renaming it over
the original fails exactly in the normal case of re-running a Processing algorithm. SQLite lets a
second connection write while QGIS reads (QGIS opens read-only layers with NOLOCK, or in WAL mode),
so the new layer is written into the file itself: under a temporary table name inside one
transaction, then the old layer is dropped and the new one renamed. A failure rolls the transaction
back, leaving the GeoPackage and its other layers exactly as they were.
"""
from __future__ import annotations

from ..errors import EOLensError, InputError

TEMP_SUFFIX = "_eolens_new"


def _gdal_error(default: str = "unknown error") -> str:
    from osgeo import gdal

    return gdal.GetLastErrorMsg() or default


def _check(result, what: str) -> None:
    """OGR calls return 0 on success (or raise, when GDAL exceptions are on)."""
    if result not in (0, None):
        raise EOLensError(f"{what} failed: {_gdal_error()}")


def _open(path: str, update: bool):
    from osgeo import gdal

    flags = gdal.OF_VECTOR | (gdal.OF_UPDATE if update else gdal.OF_READONLY)
    try:
        ds = gdal.OpenEx(path, flags, allowed_drivers=["GPKG"])
    except RuntimeError:  # GDAL with exceptions enabled
        ds = None
    if ds is None:
        raise InputError(f"'{path}' exists but is not a GeoPackage EO Lens can add a layer to.")
    return ds


def layer_names(path: str) -> list[str]:
    """The layers of the GeoPackage at ``path`` (InputError when it is not one)."""
    ds = _open(path, update=False)
    return [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]


def _index_of(ds, name: str) -> int | None:
    for i in range(ds.GetLayerCount()):
        if ds.GetLayer(i).GetName().lower() == name.lower():
            return i
    return None


def _free_name(ds, base: str) -> str:
    name, n = base + TEMP_SUFFIX, 1
    while _index_of(ds, name) is not None:
        name, n = f"{base}{TEMP_SUFFIX}{n}", n + 1
    return name


def copy_features(src, dst) -> None:
    """Every field and feature of layer ``src`` into the new, empty layer ``dst``."""
    from osgeo import ogr

    defn = src.GetLayerDefn()
    for i in range(defn.GetFieldCount()):
        _check(dst.CreateField(defn.GetFieldDefn(i)), "creating a field")
    out_defn = dst.GetLayerDefn()
    src.ResetReading()
    for feat in src:
        new = ogr.Feature(out_defn)
        new.SetFrom(feat)
        _check(dst.CreateFeature(new), f"writing feature {feat.GetFID()}")


def _rename(ds, layer, new_name: str) -> None:
    """OGR's Rename (GDAL >= 3.5: Debian 12 has 3.6, Debian 13 3.10); else the GPKG driver's
    own ALTER TABLE ... RENAME TO, which also renames the spatial index and metadata rows."""
    if hasattr(layer, "Rename") and layer.TestCapability("Rename"):
        _check(layer.Rename(new_name), f"renaming the new layer to '{new_name}'")
        return
    old = layer.GetName().replace('"', '""')
    ds.ExecuteSQL(f'ALTER TABLE "{old}" RENAME TO "{new_name.replace(chr(34), chr(34) * 2)}"')


def _swap_in(ds, src, layer: str) -> None:
    """Write ``src`` as a temporary layer, drop the old ``layer``, rename: inside a transaction."""
    tmp_name = _free_name(ds, layer)
    new = ds.CreateLayer(tmp_name, src.GetSpatialRef(), src.GetGeomType())
    if new is None:
        raise EOLensError(f"creating the new layer failed: {_gdal_error()}")
    copy_features(src, new)
    old = _index_of(ds, layer)
    if old is not None:
        _check(ds.DeleteLayer(old), f"removing the old layer '{layer}'")
    _rename(ds, ds.GetLayerByName(tmp_name), layer)


def replace_layer(target: str, staged: str, layer: str) -> None:
    """Put layer ``layer`` of the GeoPackage ``staged`` into the GeoPackage ``target`` in place,
    replacing a layer of that name (or adding it). Other layers are untouched; on failure nothing
    in ``target`` changes and an EOLensError says why."""
    src_ds = _open(staged, update=False)
    src = src_ds.GetLayerByName(layer)
    if src is None:
        raise EOLensError(f"The staged output has no layer '{layer}'.")
    ds = _open(target, update=True)
    try:
        _check(ds.StartTransaction(), "starting a transaction")
    except RuntimeError as err:
        raise _update_error(target, layer, err) from err
    try:
        _swap_in(ds, src, layer)
        _check(ds.CommitTransaction(), "committing")
    except (EOLensError, RuntimeError) as err:
        try:
            ds.RollbackTransaction()
        except RuntimeError:
            pass
        raise _update_error(target, layer, err) from err
    finally:
        ds = src_ds = None  # close both before anyone reads the result


def _update_error(target: str, layer: str, err: Exception) -> EOLensError:
    text = str(err)
    if "locked" in text.lower() or "busy" in text.lower():
        text += " (another program is writing to it; close the layer's edit session)"
    return EOLensError(f"Could not write layer '{layer}' into '{target}': {text}; "
                       "the GeoPackage was not changed.")
