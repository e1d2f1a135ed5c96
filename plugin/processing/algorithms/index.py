"""eolens:index: embed the tiles of many rasters (layers and/or a folder) into one index file."""
from __future__ import annotations

import os
from dataclasses import asdict

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
)

from ....inference.errors import EOLensError, InputError
from ....inference.registry import DEFAULTS
from ...capture import layer_path
from ...translate import N_
from .base import DEVICES, EOLensAlgorithm, Run, check_model, tr

COUNTS = ("ADDED", "UPDATED", "UNCHANGED", "REMOVED", "FAILED")


def device_and_offline(alg, parameters, context) -> tuple[str, object]:
    device = alg.parameterAsEnumString(parameters, "DEVICE", context) or "auto"
    return device, (True if alg.parameterAsBoolean(parameters, "OFFLINE", context) else None)


def add_device_parameters(alg) -> None:
    alg.addParameter(QgsProcessingParameterEnum(
        "DEVICE", tr("Device"), options=list(DEVICES), defaultValue="auto", usesStaticStrings=True))
    offline = QgsProcessingParameterBoolean(
        "OFFLINE", tr("Offline: load models only from the cache or local folders"), False)
    offline.setFlags(offline.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    alg.addParameter(offline)


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
            defaultValue=DEFAULTS["search"]))
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
    def _paths(self, parameters, context) -> list[str]:
        from ....inference.archive_index import collect_rasters

        layers = self.parameterAsLayerList(parameters, "INPUTS", context) or []
        folder = (self.parameterAsString(parameters, "FOLDER", context) or "").strip()
        paths = collect_rasters([layer_path(layer) for layer in layers], folder or None)
        if not paths:
            raise InputError(tr("No rasters to index: choose layers (INPUTS) or a folder (FOLDER)."))
        return paths

    def _index(self, parameters, context) -> str:
        path = self.parameterAsFileOutput(parameters, "INDEX", context)
        if not path or not path.lower().endswith(".gpkg"):
            raise InputError(tr("INDEX: choose a .gpkg file for the index."))
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise InputError(tr("INDEX: the folder '{0}' does not exist.").format(
                os.path.dirname(os.path.abspath(path))))
        return path

    def validate(self, parameters, context) -> None:
        check_model(self.model_name(parameters, context), self.MODEL_TASKS)
        tile = self.parameterAsInt(parameters, "TILE_SIZE", context)
        overlap = self.parameterAsInt(parameters, "OVERLAP", context)
        if not 0 <= overlap < tile:
            raise InputError(tr("OVERLAP must be smaller than TILE_SIZE."))
        self._index(parameters, context)
        self._paths(parameters, context)

    def prepareAlgorithm(self, parameters, context, feedback):
        from ....inference.actions import RunOptions

        try:
            self.validate(parameters, context)
            device, offline = device_and_offline(self, parameters, context)
            self._run = Run(source=None, source_b=None, prompt="",
                            model=self.model_name(parameters, context), max_side=None,
                            opts=RunOptions(device=device, offline=offline),
                            values={"paths": self._paths(parameters, context),
                                    "index": self._index(parameters, context),
                                    "tile": self.parameterAsInt(parameters, "TILE_SIZE", context),
                                    "overlap": self.parameterAsInt(parameters, "OVERLAP", context)})
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    # -- worker ----------------------------------------------------------------------------------
    def processAlgorithm(self, parameters, context, feedback):
        self._feedback = feedback
        return super().processAlgorithm(parameters, context, feedback)

    def act(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.archive_index import IndexSettings, build_index

        v = run.values
        settings = IndexSettings(run.model, v["tile"], v["overlap"], device=run.opts.device,
                                 offline=run.opts.offline)
        feedback = getattr(self, "_feedback", None)
        report = build_index(v["index"], v["paths"], settings, progress=run.progress,
                             cancel=run.cancel,
                             on_event=lambda p, what: feedback and feedback.pushInfo(f"{p}: {what}"))
        return ActionResult(text=report.summary(),
                            warnings=[f"{p}: {msg}" for p, msg in report.failed],
                            meta={"report": asdict(report)})  # plain data only

    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        report = result.meta["report"]
        return {"INDEX": report["index"], "TEXT": result.text, "TILES": report["tiles_total"],
                **{name: len(report[name.lower()]) for name in COUNTS}}
