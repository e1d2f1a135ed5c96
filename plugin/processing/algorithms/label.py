"""eolens:label: a CLIP class, a VLM answer or a caption for every feature of a vector layer."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import (QgsProcessing, QgsProcessingContext, QgsProcessingOutputNumber,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterString)

from ....inference.batch_params import LabelParams
from ....inference.errors import InputError
from ....inference.label import MODES, parse_buffer, parse_classes
from ...capture import is_local_file, layer_path
from ...translate import N_
from .base import EOLensAlgorithm, Run, plugin_defaults, split_layer, tr

MODE_DEFAULTS = {"classify": "search", "ask": "chat", "caption": "caption"}  # -> settings model_*
COUNTS = {"LABELLED": N_("Features labelled"), "SKIPPED": N_("Features already labelled (skipped)"),
          "UNLABELLED": N_("Features that could not be labelled")}


class LabelAlgorithm(EOLensAlgorithm):
    ALG_ID = "label"
    DISPLAY = N_("Label features (CLIP class / VLM answer per feature)")
    HELP = (N_("For every feature of FEATURES (selected features only when ticked), reads the "
            "raster under it (its bounding box grown by BUFFER: map units of the raster's CRS, or "
            "a percentage such as 20%) and asks the model. MODE classify picks one of CLASSES "
            "(comma separated) with a CLIP model and writes label, score and all class scores; "
            "ask answers PROMPT with a chat model; caption describes each chip. OUTPUT is a copy "
            "of the features (in their own CRS) with the new fields; features outside the raster "
            "or on nodata get an empty label and a reason. Re-running with the same OUTPUT skips "
            "the features already labelled, so a cancelled run can be continued. EXTENT limits "
            "the run to the features that intersect it."))
    PROMPT = "optional"
    PROMPT_LABEL = N_("Question (MODE ask)")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Labelled features")}

    def add_specific_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterFeatureSource(
            "FEATURES", tr("Features to label"), [QgsProcessing.SourceType.TypeVectorAnyGeometry]))
        self.addParameter(QgsProcessingParameterEnum(
            "MODE", tr("Mode"), options=list(MODES), defaultValue="classify",
            usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterString(
            "CLASSES", tr("Classes, comma separated (MODE classify)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            "BUFFER", tr("Context around each feature (map units, or a percentage like 20%)"),
            defaultValue="10%", optional=True))

    def add_outputs(self) -> None:
        super().add_outputs()
        for name, label in COUNTS.items():
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))

    # -- validation -------------------------------------------------------------------------
    def mode(self, parameters, context) -> str:
        return self.parameterAsEnumString(parameters, "MODE", context) or "classify"

    def model_name(self, parameters, context) -> str:
        """MODEL, or the EO Lens settings' model for the mode's task when it is blank."""
        model = (self.parameterAsString(parameters, "MODEL", context) or "").strip()
        return model or plugin_defaults(MODE_DEFAULTS[self.mode(parameters, context)])["model"]

    def params(self, parameters, context) -> LabelParams:
        """The one place the run's typed parameters are built from the Processing parameters."""
        value, fraction = parse_buffer(self.parameterAsString(parameters, "BUFFER", context))
        max_side = self.parameterAsInt(parameters, "MAX_SIDE", context)
        bands = tuple(self.parameterAsInts(parameters, "BANDS", context) or ()) or None
        output, layer = split_layer(self.parameterAsOutputLayer(parameters, "OUTPUT", context) or "")
        return LabelParams(
            raster=self._raster_path(parameters, context),
            features=self._features_path(parameters, context), output=output, layer=layer,
            selected_only=bool(getattr(parameters.get("FEATURES"), "selectedFeaturesOnly", False)),
            mode=self.mode(parameters, context), model=self.model_name(parameters, context),
            prompt=(self.parameterAsString(parameters, "PROMPT", context) or "").strip(),
            classes=parse_classes(self.parameterAsString(parameters, "CLASSES", context)),
            buffer=value, buffer_fraction=fraction, max_side=max_side or None, bands=bands)

    def _raster_path(self, parameters, context) -> str:
        layer = self.parameterAsRasterLayer(parameters, "INPUT", context)
        return layer_path(layer) if layer is not None and is_local_file(layer) else ""

    def _features_path(self, parameters, context) -> str:
        """The file behind FEATURES ("" for a layer that lives only in memory)."""
        layer = self.parameterAsVectorLayer(parameters, "FEATURES", context)
        if layer is None or layer.providerType() != "ogr":
            return ""
        return layer.source().split("|")[0]

    def validate_specific(self, parameters, context) -> None:
        self._features_source(parameters, context)
        self.params(parameters, context).validate()

    def _features_source(self, parameters, context):
        """FEATURES as a feature source, or an error naming the file that cannot be read."""
        source = self.parameterAsSource(parameters, "FEATURES", context)
        if source is None:
            raw = parameters.get("FEATURES")
            raw = getattr(raw, "source", raw)
            raw = str(raw.staticValue() if hasattr(raw, "staticValue") else raw or "")
            if raw:
                raise InputError(tr("FEATURES: '{0}' is not a vector layer QGIS can read "
                                    "(missing, damaged or another kind of file).").format(raw))
            raise InputError(tr("FEATURES: choose a vector layer."))
        return source

    def read_specific(self, parameters, context) -> dict:
        """FEATURES as a request to read them chunk by chunk in :meth:`act` (never copied whole),
        with their CRS, field kinds, geometry families and count."""
        from ...vector_snapshot import count_features, extent_request, field_kinds, geometry_families

        source = self._features_source(parameters, context)
        extent = crs = None
        if parameters.get("EXTENT") not in (None, ""):
            extent = self.parameterAsExtent(parameters, "EXTENT", context)
            crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
        request = extent_request(source, extent, crs)
        params = self.params(parameters, context)
        params.validate()
        return {"params": params, "source": source, "request": request,
                "crs_wkt": source.sourceCrs().toWkt(), "fields": field_kinds(source),
                "families": geometry_families(source, request),
                "total": count_features(source, request)}

    # -- running -----------------------------------------------------------------------------
    def act(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.label import label_features
        from ...capture import require_file
        from ...vector_snapshot import iter_features

        v = run.values
        p: LabelParams = v["params"]
        summary = label_features(require_file(run.source, tr("Label features")),
                                 iter_features(v["source"], v["request"]), p.spec(), p.output,
                                 features_crs=v["crs_wkt"], fields=v["fields"],
                                 families=v["families"], total=v["total"], layer=p.layer,
                                 opts=run.opts, outputs=run.outputs, progress=run.progress,
                                 cancel=run.cancel)
        return ActionResult(text=summary.text(), warnings=list(summary.warnings), summary=summary,
                            meta={"model": p.model, "prompt": p.spec().prompt_text()})

    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        p, summary = self._run.values["params"], result.summary
        out = f"{p.output}|layername={p.layer}" if p.layer else p.output
        self._load_on_completion(parameters.get("OUTPUT"), out, context)
        return {"OUTPUT": out, "LABELLED": summary.labelled, "SKIPPED": summary.skipped,
                "UNLABELLED": summary.unlabelled}

    def _load_on_completion(self, destination, out: str, context) -> None:
        """"Open output file after running": the worker's context is the one Processing reads."""
        project = getattr(destination, "destinationProject", None)
        if project is not None:
            context.addLayerToLoadOnCompletion(out, QgsProcessingContext.LayerDetails(
                tr(self.OUTPUT_LABELS["OUTPUT"]), project, "OUTPUT"))
