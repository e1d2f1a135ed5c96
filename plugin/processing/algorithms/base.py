"""What every EO Lens algorithm shares: common parameters, validation, capture, progress and outputs.

The layer is reduced to plain data (path, CRS, bounds) on the main thread in ``prepareAlgorithm``;
``processAlgorithm`` only captures from the file, calls ONE function of ``inference.actions`` (the
same one the dock calls) and writes the outputs. Torch is imported only by that call.
"""
from __future__ import annotations

import functools
import html
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingOutputString,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ....inference.errors import EOLensError, InputError, ModelError
from ...translate import N_
from ....inference.models.registry import DEFAULTS
from ....inference.tasks import ROLES
from ...capture import CaptureSource, is_local_file, layer_path, snapshot
from .file_guard import check_files
from .input_sidecars import no_new_sidecars
from .param_values import check_choices, check_numbers, normalized
from .termination import cancel_on_terminate
from ....inference.validate import (
    check_bands,
    check_distinct,
    check_finite,
    check_prompt,
    check_raster_file,
    check_writable,
    parse_bands,
    plain_message,
    raster_warnings,
)

DEVICES = ("auto", "cuda", "cpu")


def guarded(prepare):
    """``prepare`` (a ``prepareAlgorithm``) behind :func:`file_guard.check_files`: no output may
    be an input, whatever the algorithm (qgis_process and scripts may skip checkParameterValues)."""
    @functools.wraps(prepare)
    def wrapper(self, parameters, context, feedback):
        parameters = normalized(self, parameters)
        try:
            inputs = check_files(self, parameters, context)
            check_choices(self, parameters)
            check_numbers(self, parameters)
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        with no_new_sidecars(inputs.values()):   # layers load here: no .aux.xml beside them
            return prepare(self, parameters, context, feedback)

    wrapper.guarded = True  # type: ignore[attr-defined]
    return wrapper



def plugin_defaults(task: str | None) -> dict:
    """Dialog defaults from the EO Lens settings: model for ``task``, device, offline, max side."""
    from ... import settings

    s = settings.load()
    model = None
    if task:
        model = s.model_for(task) if task in ROLES else DEFAULTS[task]
    return {"model": model, "device": s.device if s.device in DEVICES else "auto",
            "offline": settings.is_offline(s), "max_side": s.max_side}
VECTOR_EXTS = (".gpkg", ".shp")
RASTER_EXTS = (".tif", ".tiff")
TEXT_EXTS = (".txt", ".json")
_EXTENT_TEXT = re.compile(r"\s*([^,\[\]]+),([^,\[\]]+),([^,\[\]]+),([^,\[\]]+?)\s*(?:\[(.+)\])?\s*")


def tr(text: str) -> str:
    return QCoreApplication.translate("EOLensProcessing", text)


# Toolbox groups: algorithm id -> (group id, group name)
_GROUPS: dict[str, tuple[str, str]] = {
    "caption": ("describe", N_("Describe and ask")), "ask": ("describe", N_("Describe and ask")),
    "detect": ("find", N_("Find objects")), "segment": ("find", N_("Find objects")),
    "change": ("change", N_("Compare dates")),
    "search": ("search", N_("Search")), "index": ("search", N_("Search")),
    "search_index": ("search", N_("Search")),
    "label": ("label", N_("Label and evaluate")), "evaluate": ("label", N_("Label and evaluate")),
}
_OTHER = ("other", N_("Other"))


def _homepage() -> str:
    """``homepage`` of metadata.txt: the help pages live in its README."""
    import configparser

    meta = configparser.ConfigParser(interpolation=None)
    meta.read(os.path.join(os.path.dirname(__file__), "..", "..", "..", "metadata.txt"),
              encoding="utf-8")
    return meta.get("general", "homepage", fallback="").strip()


@dataclass
class Run:
    """Plain data one algorithm run needs after the main-thread snapshot."""

    source: CaptureSource
    source_b: CaptureSource | None
    prompt: str
    model: str
    max_side: int | None
    opts: Any                                  # inference.actions.RunOptions
    progress: Any = None                       # ProgressFn
    cancel: Any = None                         # CancelToken
    values: dict = field(default_factory=dict)  # algorithm-specific parameters
    params: Any = None                         # the action's typed parameters (inference.params)
    destinations: dict = field(default_factory=dict)  # raster output -> the analyst's file
    outputs: Any = None                        # the run's export.OutputSet
    staged: dict = field(default_factory=dict)  # output -> destination that act() wrote

    def stage(self, name: str) -> str | None:
        """A staged path for ``act`` to write output ``name`` (e.g. ``OUTPUT_RASTER``) to, or None
        when no such file was asked for. It is committed with the other outputs, and a failure
        or Cancel leaves no file."""
        dest = self.destinations.get(name)
        if not dest:
            return None
        ext = os.path.splitext(dest)[1]
        path = self.outputs.stage(dest, (ext + ".aux.xml", ext + ".ovr"))  # old stats/overviews
        self.staged[name] = dest
        return path


def check_model(model: str, accepted: tuple[str, ...] = ()) -> None:
    """Fail early, with words an analyst can act on, for a model that cannot be what they meant."""
    if not model:
        raise ModelError(tr("Please choose a model (MODEL)."))
    from ....inference.models import runtime  # the one resolver (no network, no weights here)

    runtime.check_model(model, accepted)


def labelled_help(text: str, definitions) -> str:
    """``PROMPT`` -> ``<i>Prompt</i> (PROMPT)`` at its first mention; later mentions keep the id."""
    for d in sorted(definitions, key=lambda d: -len(d.name())):
        label = d.description().rstrip(":")
        if label and label != d.name():
            text = re.sub(rf"(?<![\w>]){re.escape(d.name())}(?!\w)",
                          f"<i>{html.escape(label, quote=False)}</i> ({d.name()})", text, count=1)
    return text


def check_dependencies() -> None:
    """Missing torch/transformers/...: a named error with the installer command, before anything runs."""
    from ... import deps

    report = deps.check()
    if not report.ok:
        raise InputError(deps.dependency_message(report))


def raw_destination(value: Any) -> str:
    """The path a destination parameter was given, without asking the framework to make one."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink.staticValue()
    return str(value) if value not in (None, "") else ""


def split_layer(path: str) -> tuple[str, str | None]:
    """``out.gpkg|layername=x`` -> (``out.gpkg``, ``x``)."""
    parts = path.split("|")
    layer = None
    for part in parts[1:]:
        if part.startswith("layername="):
            layer = part[len("layername="):]
    return parts[0], layer


def parse_extent_numbers(texts) -> tuple[float, ...]:
    """xmin, xmax, ymin, ymax of an EXTENT string, each a finite number."""
    try:
        values = tuple(float(t) for t in texts)
    except ValueError:
        raise InputError(tr("EXTENT: expected xmin,xmax,ymin,ymax [EPSG:code].")) from None
    for v in values:
        check_finite(v, "EXTENT")
    return values


def _plain_meta(meta: dict) -> dict:
    """The JSON-worthy part of ``meta`` (drops arrays, sessions and other live objects)."""
    plain = {}
    for key, value in meta.items():
        if isinstance(value, (str, int, float, bool, type(None), list, tuple, dict)):
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue
            plain[key] = value
    return plain


class EOLensAlgorithm(QgsProcessingAlgorithm):
    """Base of the six algorithms; subclasses set the class attributes and implement ``act``."""

    ALG_ID = ""
    DISPLAY = ""
    HELP = ""
    MODEL_TASK: str | None = None       # the task (inference/tasks.py) whose model setting is the MODEL default
    MODEL_TASKS: tuple[str, ...] = ()      # registry tasks a model must have one of
    PROMPT: str | None = None           # None, "required" or "optional"
    PROMPT_LABEL = N_("Prompt")
    OUTPUTS: tuple[str, ...] = ("OUTPUT",)
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Features"), "OUTPUT_RASTER": N_("Raster"), "OUTPUT_TEXT": N_("Text / JSON")}
    TWO_DATES = False
    USES_MAX_SIDE = True

    def __init__(self) -> None:
        super().__init__()
        self._run: Run | None = None

    # -- identity --------------------------------------------------------------------------
    def createInstance(self):
        return type(self)()

    def name(self) -> str:
        return self.ALG_ID

    def displayName(self) -> str:
        return tr(self.DISPLAY)

    def shortHelpString(self) -> str:
        """The help in the dialog's words: each parameter by its label, its id kept for qgis_process."""
        return labelled_help(tr(self.HELP), self.parameterDefinitions() + self.outputDefinitions())

    def group(self) -> str:
        return tr(_GROUPS.get(self.ALG_ID, _OTHER)[1])

    def groupId(self) -> str:
        return _GROUPS.get(self.ALG_ID, _OTHER)[0]

    def helpUrl(self) -> str:
        return _homepage() + "#headless-processing-and-qgis_process"

    def tags(self) -> list[str]:
        group_id, group = _GROUPS.get(self.ALG_ID, _OTHER)
        return [self.ALG_ID, group_id, tr(group), "eolens", tr("remote sensing"), tr("AI")]

    def icon(self) -> QIcon:
        from ...definitions import ICON

        return QIcon(ICON)

    # -- parameters ------------------------------------------------------------------------
    def initAlgorithm(self, config=None):
        before = tr("Raster layer (before)") if self.TWO_DATES else tr("Raster layer")
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", before))
        if self.TWO_DATES:
            self.addParameter(QgsProcessingParameterRasterLayer("INPUT_B", tr("Raster layer (after)")))
        self.addParameter(QgsProcessingParameterExtent(
            "EXTENT", tr("Extent (default: the whole layer)"), optional=True))
        if self.PROMPT:
            self.addParameter(QgsProcessingParameterString(
                "PROMPT", tr(self.PROMPT_LABEL), optional=self.PROMPT == "optional"))
        self.add_specific_parameters()
        prefs = plugin_defaults(self.MODEL_TASK)   # the dialog starts from the EO Lens settings
        default = prefs["model"]
        self.addParameter(QgsProcessingParameterString(
            "MODEL", tr("Model (registry name, hub id or local folder)"), defaultValue=default,
            optional=self.MODEL_TASK is None))
        self._advanced(QgsProcessingParameterBand(
            "BANDS", tr("Bands to use (default: RGB / the layer's first three)"), None, "INPUT",
            optional=True, allowMultiple=True))
        if self.USES_MAX_SIDE:
            self._advanced(QgsProcessingParameterNumber(
                "MAX_SIDE", tr("Longest side in pixels of each image a model sees: the capture, or each "
                                "tile when tiling (0 = native resolution)"),
                QgsProcessingParameterNumber.Type.Integer, prefs["max_side"], minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            "DEVICE", tr("Device"), options=list(DEVICES), defaultValue=prefs["device"],
            usesStaticStrings=True))
        self._advanced(QgsProcessingParameterBoolean(
            "OFFLINE", tr("Offline: load models only from the cache or local folders"), prefs["offline"]))
        self.add_outputs()

    def add_specific_parameters(self) -> None:
        """Hook: parameters of one algorithm (DETAIL, THRESHOLD, TOP_K, ...)."""

    def add_outputs(self) -> None:
        label = {k: tr(v) for k, v in self.OUTPUT_LABELS.items()}
        if "OUTPUT" in self.OUTPUTS:
            self.addParameter(QgsProcessingParameterVectorDestination("OUTPUT", label["OUTPUT"]))
        if "OUTPUT_RASTER" in self.OUTPUTS:
            # optional: headless runs may want only the polygons; the dialogs still create it
            self.addParameter(QgsProcessingParameterRasterDestination(
                "OUTPUT_RASTER", label["OUTPUT_RASTER"], optional=True, createByDefault=True))
        if "OUTPUT_TEXT" in self.OUTPUTS:
            self.addParameter(QgsProcessingParameterFileDestination(
                "OUTPUT_TEXT", label["OUTPUT_TEXT"], "Text (*.txt);;JSON (*.json)",
                optional=True, createByDefault=False))
            self.addOutput(QgsProcessingOutputString("TEXT", tr("Text")))

    def _advanced(self, param: QgsProcessingParameterDefinition) -> None:
        param.setFlags(param.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(param)

    # -- validation (main thread) ----------------------------------------------------------
    def model_name(self, parameters, context) -> str:
        model = (self.parameterAsString(parameters, "MODEL", context) or "").strip()
        if not model and self.MODEL_TASK:   # MODEL left empty: the analyst's model setting
            model = plugin_defaults(self.MODEL_TASK)["model"]
        return model

    def validate(self, parameters, context) -> None:
        """Cheap checks that need no model and no pixels; raise EOLensError."""
        check_dependencies()
        prompt = (self.parameterAsString(parameters, "PROMPT", context) or "").strip()
        if self.PROMPT == "required" and not prompt:
            raise InputError(tr("Please enter a prompt (PROMPT)."))
        if prompt:
            check_prompt(prompt)
        model = self.model_name(parameters, context)
        if model or self.MODEL_TASK:
            check_model(model, self.MODEL_TASKS)
        self.validate_specific(parameters, context)
        for name in self.OUTPUTS:
            self._check_destination(name, raw_destination(parameters.get(name)))
        inputs = {name: self._source(parameters, context, name).path
                  for name in (("INPUT", "INPUT_B") if self.TWO_DATES else ("INPUT",))}
        check_distinct(inputs, self._destinations(parameters))

    def _destinations(self, parameters) -> dict[str, str]:
        """The output files the analyst named (layer names and temporary outputs left out)."""
        out = {}
        for name in self.OUTPUTS:
            value = raw_destination(parameters.get(name))
            if value and value != "TEMPORARY_OUTPUT" and not value.startswith(("memory:", "ogr:")):
                out[name] = split_layer(value)[0]
        return out

    def validate_specific(self, parameters, context) -> None:
        """Hook: checks of one algorithm's own parameters."""

    def _check_destination(self, name: str, value: str) -> None:
        if not value or value == "TEMPORARY_OUTPUT":
            return
        path, _ = split_layer(value)
        exts = {"OUTPUT": VECTOR_EXTS, "OUTPUT_RASTER": RASTER_EXTS, "OUTPUT_TEXT": TEXT_EXTS}[name]
        ext = os.path.splitext(path)[1].lower()
        if ext not in exts:
            raise InputError(tr("{0}: '{1}' must end in {2}.").format(name, path, " or ".join(exts)))
        check_writable(name, path)

    def _source(self, parameters, context, name: str) -> CaptureSource:
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raw = parameters.get(name)
            raw = raw.source() if hasattr(raw, "source") else str(raw or "")
            check_raster_file(raw.split("|")[0], name)  # says why: missing, empty, not a raster...
            raise InputError(tr("{0}: choose a raster layer.").format(name))
        if is_local_file(layer):
            check_raster_file(layer_path(layer), name)
        bounds, bounds_crs = self._extent(parameters, context, layer)
        bands = parse_bands(parameters.get("BANDS"))
        if bands is not None:
            check_bands(bands, layer.bandCount(), layer.source().split("|")[0])
        return snapshot(layer, bounds, bounds_crs, tuple(bands) if bands else None)

    def _extent(self, parameters, context, layer):
        """(rectangle, CRS) of EXTENT, or (None, None) for the whole layer.

        Zero width or height is an error, not "the whole layer"; a lon/lat extent given west > east
        crosses the antimeridian (QGIS would swap it into the whole width)."""
        value = parameters.get("EXTENT")
        if value in (None, ""):
            return None, None
        rect = self.parameterAsExtent(parameters, "EXTENT", context)
        crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
        crs = crs if crs.isValid() else layer.crs()
        match = _EXTENT_TEXT.fullmatch(value) if isinstance(value, str) else None
        if match:
            x0, x1, y0, y1 = parse_extent_numbers(match.groups()[:4])
            if x0 > x1 and crs.isGeographic():
                rect = QgsRectangle(x0, min(y0, y1), x1 + 360.0, max(y0, y1), False)
                self._check_antimeridian(layer, rect, crs)
        if rect.isNull() or rect.width() <= 0 or rect.height() <= 0:
            raise InputError(tr("EXTENT '{0}' has zero width or height; give xmin,xmax,ymin,ymax "
                                "with xmin < xmax and ymin < ymax.").format(value))
        return rect, crs

    @staticmethod
    def _check_antimeridian(layer, rect, crs) -> None:
        """A lon/lat layer that ends at 180 degrees cannot show both sides of the antimeridian."""
        if not layer.crs().isGeographic():
            return  # projected: the extent is reprojected as one area
        ext = layer.extent()
        if ext.xMaximum() < rect.xMaximum() and ext.xMinimum() < rect.xMaximum() - 360.0:
            raise InputError(tr("EXTENT crosses the antimeridian, where '{0}' is split in two; run "
                                "once for each side (east and west of 180 degrees).").format(
                                    layer.source().split("|")[0]))

    def checkParameterValues(self, parameters, context):
        parameters = normalized(self, parameters)   # DEVICE=2 as DEVICE=cpu
        try:
            inputs = check_files(self, parameters, context)   # every algorithm, before its own checks
            check_choices(self, parameters)
            check_numbers(self, parameters)
            with no_new_sidecars(inputs.values()):   # validate loads the layers
                self.validate(parameters, context)
                return super().checkParameterValues(parameters, context)
        except EOLensError as err:
            return False, str(err)

    def __init_subclass__(cls, **kwargs) -> None:
        """A subclass's own ``prepareAlgorithm`` runs behind the file guard too (by construction)."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("prepareAlgorithm")
        if own is not None and not getattr(own, "guarded", False):
            cls.prepareAlgorithm = guarded(own)

    @guarded
    def prepareAlgorithm(self, parameters, context, feedback):
        from ... import settings
        from ....inference.actions import RunOptions

        settings.apply_environment(settings.load())   # cache locations, GDAL's block cache
        try:
            self.validate(parameters, context)
            source = self._source(parameters, context, "INPUT")
            source_b = self._source(parameters, context, "INPUT_B") if self.TWO_DATES else None
            device = self.parameterAsEnumString(parameters, "DEVICE", context) or "auto"
            offline = True if self.parameterAsBoolean(parameters, "OFFLINE", context) else None
            max_side = (self.parameterAsInt(parameters, "MAX_SIDE", context)
                        if self.USES_MAX_SIDE else 0)
            self._run = Run(
                source=source, source_b=source_b,
                prompt=(self.parameterAsString(parameters, "PROMPT", context) or "").strip()
                if self.PROMPT else "",
                model=self.model_name(parameters, context), max_side=max_side or None,
                opts=RunOptions(device=device, offline=offline),
                values=self.read_specific(parameters, context))
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    def read_specific(self, parameters, context) -> dict:
        """Hook: the algorithm's own parameters as plain values."""
        return {}

    # -- running (may be a worker thread: plain data only) ---------------------------------
    def act(self, run: Run):
        """Capture and call one function of inference.actions; return its ActionResult."""
        raise NotImplementedError

    def capture(self, run: Run):
        from ....inference import actions

        src = run.source
        return actions.capture(src.path, src.bounds, src.bounds_crs if src.bounds else None,
                               bands=src.bands, max_side=run.max_side)

    def processAlgorithm(self, parameters, context, feedback):
        from ....inference.cancel import CancelToken, sub_progress
        from ....inference.io.staging import OutputSet

        feedback = feedback or QgsProcessingFeedback()
        parameters = normalized(self, parameters)
        run = self._run
        if run is None:
            raise QgsProcessingException(tr("The algorithm was not prepared."))
        run.progress = sub_progress(lambda p: feedback.setProgress(max(0.0, min(100.0, p))), 0, 95)
        run.cancel = CancelToken(probe=feedback.isCanceled)
        self._clean_stale(parameters, feedback)
        for src in (run.source, run.source_b):
            for warning in raster_warnings(src.path) if src is not None and src.path else ():
                feedback.reportError(warning, False)
        outputs = OutputSet()
        run.outputs, run.staged = outputs, {}
        run.destinations = self._raster_destinations(parameters, context)
        try:
            with outputs, cancel_on_terminate(run.cancel, feedback):
                result = self.act(run)
                run.cancel.check()
                out = self.write_outputs(result, parameters, context, outputs, feedback)
                run.cancel.check()
                replaced = outputs.commit()
        except (EOLensError, QgsProcessingException) as err:
            from ...messages import describe   # names what turned offline mode on

            text = describe(err) if isinstance(err, EOLensError) else str(err)
            raise QgsProcessingException(plain_message(text, outputs.temp_names())) from err
        except MemoryError as err:  # worded once, in inference.errors.translate_error
            from ...messages import describe

            raise QgsProcessingException(describe(err)) from err
        except OSError as err:
            raise QgsProcessingException(plain_message(tr("Could not read or write '{0}': {1}.").format(
                err.filename or "", err.strerror or err), outputs.temp_names())) from err
        except Exception as err:  # noqa: BLE001 - a model or library failure, in plain words
            raise QgsProcessingException(plain_message(tr(
                "eolens:{0} could not finish: {1}").format(self.ALG_ID, err),
                outputs.temp_names())) from err
        for path in replaced:
            feedback.pushInfo(tr("Replaced the existing output '{0}'.").format(path))
        for warning in result.warnings:
            feedback.pushWarning(warning)
        if result.text:
            feedback.pushInfo(result.text)
        feedback.setProgress(100)
        return out

    def _raster_destinations(self, parameters, context) -> dict[str, str]:
        """OUTPUT_RASTER's file, resolved once per run (``Run.stage`` writes it during act)."""
        if "OUTPUT_RASTER" not in self.OUTPUTS:
            return {}
        raster = self.parameterAsOutputLayer(parameters, "OUTPUT_RASTER", context) or ""
        if raster:
            self._check_destination("OUTPUT_RASTER", raster)
        return {"OUTPUT_RASTER": raster} if raster else {}

    def prompted_fields(self, parameters, context, tiles: dict) -> dict:
        """The fields every prompted raster action's params share: INPUT, PROMPT, MODEL, the area
        and ``tiles`` (tile_params.read_tiles); detect and segment build theirs from these."""
        src = self._source(parameters, context, "INPUT")
        return {"path": src.path, "prompt": (self.parameterAsString(parameters, "PROMPT", context) or "").strip(),
                "model": self.model_name(parameters, context),
                "area": self.action_area(parameters, context, src),
                "tile": tiles["tile"], "overlap": tiles["overlap"]}

    def action_area(self, parameters, context, source: CaptureSource):
        """The action's ``params.Area`` from the snapshot of INPUT and MAX_SIDE."""
        from ....inference.params import Area

        max_side = self.parameterAsInt(parameters, "MAX_SIDE", context) if self.USES_MAX_SIDE else 0
        return Area(bounds=source.bounds, bounds_crs=source.bounds_crs if source.bounds else None,
                    bands=source.bands, max_side=max_side or None)

    def _clean_stale(self, parameters, feedback) -> None:
        """Staging folders and ``.part`` files that a killed run of ours left beside the outputs."""
        from ....inference.io.staging import clean_stale_staging

        dests = self._destinations(parameters)
        for folder in sorted({os.path.dirname(os.path.abspath(p)) for p in dests.values()}):
            for path in clean_stale_staging(folder, tuple(dests.values())):
                feedback.pushInfo(tr("Removed '{0}', left by an interrupted run.").format(path))

    # -- outputs -----------------------------------------------------------------------------
    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        """Stage every output in ``written`` (an ``export.OutputSet``); processAlgorithm commits
        them together once all are written."""
        from ....inference import actions

        out: dict = {}
        vector = raster = layer = None
        if "OUTPUT" in self.OUTPUTS:
            dest = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
            if dest:
                vector, layer = split_layer(dest)
                self._check_destination("OUTPUT", vector)
                out["OUTPUT"] = f"{vector}|layername={layer}" if layer else vector
        staged = self._run.staged if self._run is not None else {}
        if "OUTPUT_RASTER" in staged:          # act() already wrote it to its staged path
            out["OUTPUT_RASTER"] = staged["OUTPUT_RASTER"]
        elif "OUTPUT_RASTER" in self.OUTPUTS:
            raster = self.parameterAsOutputLayer(parameters, "OUTPUT_RASTER", context) or None
            if raster:
                if result.raster is None:
                    raise InputError(tr("This run produced no raster to write."))
                self._check_destination("OUTPUT_RASTER", raster)
                out["OUTPUT_RASTER"] = raster
        if "OUTPUT_TEXT" in self.OUTPUTS:
            text_path = self.parameterAsFileOutput(parameters, "OUTPUT_TEXT", context)
            if text_path:
                self._check_destination("OUTPUT_TEXT", text_path)
                self.write_text(result, written.stage(text_path))
                out["OUTPUT_TEXT"] = text_path
            out["TEXT"] = result.text
        layer_name = layer or (os.path.splitext(os.path.basename(vector))[0] if vector else "eolens")
        report = actions.write_outputs(result, vector, raster, overwrite=True, layer=layer_name,
                                       outputs=written, keep_layers=bool(layer))
        for warning in getattr(report, "warnings", None) or ():
            feedback.pushWarning(warning)
        if report is not None and layer and report.kept_layers:
            feedback.pushInfo(tr("{0} layer '{1}' in '{2}'; its other layers are kept: {3}.").format(
                tr("Replacing") if report.replaced_layer else tr("Adding"), layer, vector,
                ", ".join(report.kept_layers)))
        return out

    def write_text(self, result, path: str) -> None:
        if path.lower().endswith(".json"):
            doc = {"algorithm": f"eolens:{self.ALG_ID}", "text": result.text,
                   "warnings": list(result.warnings), "meta": _plain_meta(result.meta),
                   "crs_wkt": result.crs_wkt,
                   "footprint": result.footprint.wkt if result.footprint is not None else None,
                   "features": len(result.features)}
            body = json.dumps(doc, indent=2, ensure_ascii=False)
        else:
            body = result.text
        with open(path, "w", encoding="utf-8") as fh:  # a staged path: committed with the rest
            fh.write(body + "\n")
