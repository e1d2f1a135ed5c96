"""eolens:index: embed the tiles of many rasters (layers and/or a folder) into one index file."""
from __future__ import annotations

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsRasterLayer,
    QgsVectorLayer,
)

from ....inference.batch_params import IndexParams
from ....inference.errors import EOLensError, InputError
from ....inference.validate import check_raster_file
from ...capture import layer_path
from ...translate import N_
from .base import DEVICES, EOLensAlgorithm, Run, plugin_defaults, tr

COUNTS = ("ADDED", "UPDATED", "UNCHANGED", "REMOVED", "FAILED")


def device_and_offline(alg, parameters, context) -> tuple[str, object]:
    device = alg.parameterAsEnumString(parameters, "DEVICE", context) or "auto"
    return device, (True if alg.parameterAsBoolean(parameters, "OFFLINE", context) else None)


def input_raster_path(layer) -> str:
    """The file of one INPUTS layer; a vector or a web layer is named with why it cannot be."""
    source = layer.source().split("|")[0]
    if not isinstance(layer, QgsRasterLayer):
        kind = tr("a vector layer") if isinstance(layer, QgsVectorLayer) else tr("not a raster")
        raise InputError(tr("INPUTS: '{0}' is {1}; INPUTS takes raster layers (or give a "
                            "folder of rasters as FOLDER).").format(source, kind))
    if layer.providerType() != "gdal":
        raise InputError(tr("INPUTS: layer '{0}' ({1}) is not a local raster file; the index "
                            "reads files, so save it as a GeoTIFF first.").format(
                                layer.name(), source))
    return layer_path(layer)


def check_unloaded_inputs(raw, files: list[str]) -> None:
    """A file given in INPUTS that QGIS could not load as a layer: say why (empty, not a raster)."""
    values = raw if isinstance(raw, (list, tuple)) else [raw] if raw else []
    known = {os.path.realpath(f) for f in files}
    for value in values:
        path = value.split("|")[0] if isinstance(value, str) else ""
        if path and os.path.exists(path) and os.path.realpath(path) not in known:
            check_raster_file(path, "INPUTS")


def add_device_parameters(alg) -> None:
    """DEVICE and OFFLINE, defaulting to the EO Lens settings like the other algorithms."""
    prefs = plugin_defaults(None)
    alg.addParameter(QgsProcessingParameterEnum(
        "DEVICE", tr("Device"), options=list(DEVICES), defaultValue=prefs["device"],
        usesStaticStrings=True))
    offline = QgsProcessingParameterBoolean(
        "OFFLINE", tr("Offline: load models only from the cache or local folders"),
        prefs["offline"])
    offline.setFlags(offline.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    alg.addParameter(offline)


def apply_settings_environment() -> None:
    """Cache locations and GDAL's block cache from the EO Lens settings, before a model loads."""
    from ... import settings

    settings.apply_environment(settings.load())


class IndexAlgorithm(EOLensAlgorithm):
    ALG_ID = "index"
    DISPLAY = N_("Index rasters (archive search)")
    HELP = (N_("Cuts every raster of INPUTS and/or FOLDER (searched in sub-folders too; a file "
            "pattern such as /data/**/*.tif also works) into TILE_SIZE tiles at native resolution, "
            "embeds each tile with a remote-sensing CLIP model and stores footprints and embeddings "
            "in one GeoPackage (INDEX). Running it again updates the index: unchanged files are "
            "skipped, changed ones re-embedded, deleted ones removed. An index keeps one model; "
            "a file that cannot be read is reported and skipped."))
    MODEL_TASK = "search"
    MODEL_TASKS = ("search", "embed_image")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterMultipleLayers(
            "INPUTS", tr("Raster layers"), QgsProcessing.SourceType.TypeRaster, optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "FOLDER", tr("Folder of rasters (or a file pattern)"),
            QgsProcessingParameterFile.Behavior.Folder, optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            "INDEX", tr("Index file (created or updated)"), tr("GeoPackage (*.gpkg)")))
        self.addParameter(QgsProcessingParameterString(
            "MODEL", tr("Model (registry name, hub id or local folder)"),
            defaultValue=plugin_defaults(self.MODEL_TASK)["model"], optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "TILE_SIZE", tr("Tile size (pixels)"), QgsProcessingParameterNumber.Type.Integer, 224,
            minValue=16))
        self.addParameter(QgsProcessingParameterNumber(
            "OVERLAP", tr("Tile overlap (pixels)"), QgsProcessingParameterNumber.Type.Integer, 0,
            minValue=0))
        add_device_parameters(self)
        self.addOutput(QgsProcessingOutputString("TEXT", tr("Summary")))
        self.addOutput(QgsProcessingOutputNumber("TILES", tr("Tiles in the index")))
        for name in COUNTS:
            self.addOutput(QgsProcessingOutputNumber(name, tr("Files {0}").format(name.lower())))

    # -- main thread -----------------------------------------------------------------------------
    def _paths(self, parameters, context) -> tuple[list[str], list[tuple[str, str]]]:
        from ....inference.archive.build import find_rasters

        layers = self.parameterAsLayerList(parameters, "INPUTS", context) or []
        folder = (self.parameterAsString(parameters, "FOLDER", context) or "").strip()
        files = [input_raster_path(layer) for layer in layers]
        check_unloaded_inputs(parameters.get("INPUTS"), files)
        return find_rasters(files, folder or None)

    def model_name(self, parameters, context) -> str:
        """MODEL, or the EO Lens settings' search model when it is blank."""
        model = (self.parameterAsString(parameters, "MODEL", context) or "").strip()
        return model or plugin_defaults(self.MODEL_TASK)["model"]

    def _index(self, parameters, context) -> str:
        path = (self.parameterAsFileOutput(parameters, "INDEX", context) or "").strip()
        return os.path.abspath(path) if path else ""

    def params(self, parameters, context) -> IndexParams:
        """The one place the run's typed parameters are built from the Processing parameters."""
        device, offline = device_and_offline(self, parameters, context)
        paths, skipped = self._paths(parameters, context)
        return IndexParams(
            paths=tuple(paths), skipped=tuple(skipped),
            index=self._index(parameters, context),
            model=self.model_name(parameters, context),
            tile=self.parameterAsInt(parameters, "TILE_SIZE", context),
            overlap=self.parameterAsInt(parameters, "OVERLAP", context),
            device=device, offline=offline)

    def validate(self, parameters, context) -> None:
        self.params(parameters, context).validate()

    def prepareAlgorithm(self, parameters, context, feedback):
        from ....inference.actions import RunOptions

        apply_settings_environment()
        try:
            params = self.params(parameters, context)
            params.validate()
            self._run = Run(source=None, source_b=None, prompt="", model=params.model,
                            max_side=None, opts=RunOptions(device=params.device,
                                                           offline=params.offline),
                            values={"params": params})
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    # -- worker ----------------------------------------------------------------------------------
    def processAlgorithm(self, parameters, context, feedback):
        self._feedback = feedback
        return super().processAlgorithm(parameters, context, feedback)

    def act(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.archive.build import build_index

        params: IndexParams = run.values["params"]
        feedback = getattr(self, "_feedback", None)
        report = build_index(params.index, params.paths, params.settings(), progress=run.progress,
                             cancel=run.cancel, skipped=params.skipped,
                             on_event=lambda p, what: feedback and feedback.pushInfo(f"{p}: {what}"))
        return ActionResult(text=report.summary(), warnings=report.warnings, summary=report,
                            meta={"model": params.model, "tile": params.tile,
                                  "overlap": params.overlap})

    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        report = result.summary
        return {"INDEX": report.index, "TEXT": result.text, "TILES": report.tiles_total,
                **{name: len(getattr(report, name.lower())) for name in COUNTS}}
