"""eolens:label: a CLIP class, a VLM answer or a caption for every feature of a vector layer."""
from __future__ import annotations

from typing import ClassVar

from qgis.core import (QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterString)

from ....inference.errors import InputError
from ....inference.label import MODE_TASKS, MODES, LabelSpec, check_spec, parse_buffer, parse_classes
from ....inference.registry import DEFAULTS
from ...translate import N_
from .base import EOLensAlgorithm, Run, check_model, split_layer, tr

MODE_DEFAULTS = {"classify": "search", "ask": "chat", "caption": "caption"}  # -> registry.DEFAULTS
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
        model = (self.parameterAsString(parameters, "MODEL", context) or "").strip()
        return model or DEFAULTS[MODE_DEFAULTS[self.mode(parameters, context)]]

    def spec(self, parameters, context) -> LabelSpec:
        value, fraction = parse_buffer(self.parameterAsString(parameters, "BUFFER", context))
        max_side = self.parameterAsInt(parameters, "MAX_SIDE", context)
        bands = tuple(self.parameterAsInts(parameters, "BANDS", context) or ()) or None
        return LabelSpec(
            mode=self.mode(parameters, context), model=self.model_name(parameters, context),
            prompt=(self.parameterAsString(parameters, "PROMPT", context) or "").strip(),
            classes=parse_classes(self.parameterAsString(parameters, "CLASSES", context)),
            buffer=value, buffer_fraction=fraction, max_side=max_side or None, bands=bands)

    def validate_specific(self, parameters, context) -> None:
        spec = self.spec(parameters, context)
        check_spec(spec)
        check_model(spec.model, (MODE_TASKS[spec.mode],))
        if self.parameterAsSource(parameters, "FEATURES", context) is None:
            raise InputError(tr("FEATURES: choose a vector layer."))

    def read_specific(self, parameters, context) -> dict:
        from ...vector_snapshot import copy_features

        source = self.parameterAsSource(parameters, "FEATURES", context)
        extent = crs = None
        if parameters.get("EXTENT") not in (None, ""):
            extent = self.parameterAsExtent(parameters, "EXTENT", context)
            crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
        snap = copy_features(source, source.sourceName(), extent=extent, extent_crs=crs)
        path, layer = split_layer(self.parameterAsOutputLayer(parameters, "OUTPUT", context))
        self._check_destination("OUTPUT", path)
        return {"spec": self.spec(parameters, context), "snapshot": snap, "output": path,
                "layer": layer}

    # -- running -----------------------------------------------------------------------------
    def act(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.label import label_features
        from ...capture import require_file

        v = run.values
        summary = label_features(require_file(run.source, tr("Label features")), v["snapshot"].features, v["spec"], v["output"],
                                 features_crs=v["snapshot"].crs_wkt, layer=v["layer"],
                                 opts=run.opts, progress=run.progress, cancel=run.cancel)
        result = ActionResult(text=summary.text(), warnings=list(summary.warnings))
        result.meta.update(labelled=summary.labelled, skipped=summary.skipped,
                           unlabelled=summary.unlabelled)
        return result

    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        v, m = self._run.values, result.meta
        out = f"{v['output']}|layername={v['layer']}" if v["layer"] else v["output"]
        return {"OUTPUT": out, "LABELLED": m["labelled"], "SKIPPED": m["skipped"],
                "UNLABELLED": m["unlabelled"]}
