"""eolens:evaluate: score a result layer (vector or mask raster) against a reference."""
from __future__ import annotations

import json
import os
from typing import ClassVar

from qgis.core import (QgsCoordinateTransform, QgsProcessingException, QgsProcessingOutputNumber,
                       QgsProcessingParameterExtent, QgsProcessingParameterMapLayer,
                       QgsProcessingParameterNumber, QgsProcessingParameterString, QgsProject,
                       QgsRasterLayer, QgsVectorLayer)

from ....inference.errors import EOLensError, InputError
from ...translate import N_
from .base import EOLensAlgorithm, Run, tr

SCORE_FIELD = "score"  # a predicted layer's confidence, used for AP when present
NUMBERS = {"PRECISION": N_("Precision"), "RECALL": N_("Recall"), "F1": N_("F1 score")}


class EvaluateAlgorithm(EOLensAlgorithm):
    ALG_ID = "evaluate"
    DISPLAY = N_("Evaluate against a reference (P / R / F1 / IoU / AP)")
    HELP = (N_("Scores PREDICTED (a vector layer or a mask raster) against REFERENCE (vector or "
            "raster), both reprojected onto the reference's CRS (onto a raster's grid when one "
            "side is a raster). Two vector layers are matched object by object, one to one, at "
            "IoU >= IOU: precision, recall, F1, mean IoU of the matches and AP (by the predicted "
            "'score' field when there is one); with FIELD_PREDICTED and FIELD_REFERENCE, objects "
            "match within their class and per-class figures and a confusion matrix are added. "
            "With a raster, pixels are compared (non-zero = positive, nodata ignored). OUTPUT "
            "holds the features (or pixel regions) tagged TP / FP / FN with the matched IoU; "
            "OUTPUT_TEXT a .json report (precision, recall, f1, iou, ap, tp, fp, fn, ...) or a .txt."))
    OUTPUTS = ("OUTPUT", "OUTPUT_TEXT")
    OUTPUT_LABELS: ClassVar[dict[str, str]] = {"OUTPUT": N_("Tagged features (TP / FP / FN)"),
                                               "OUTPUT_TEXT": N_("Report (.json / .txt)")}

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterMapLayer(
            "PREDICTED", tr("Predicted (vector layer or mask raster)")))
        self.addParameter(QgsProcessingParameterMapLayer(
            "REFERENCE", tr("Reference (vector layer or raster)")))
        self.addParameter(QgsProcessingParameterNumber(
            "IOU", tr("IoU threshold for matching objects"), QgsProcessingParameterNumber.Double,
            0.5, minValue=0.01, maxValue=1.0))
        for name, label in (("FIELD_PREDICTED", N_("Class field of the predicted layer (optional)")),
                            ("FIELD_REFERENCE", N_("Class field of the reference layer (optional)"))):
            self.addParameter(QgsProcessingParameterString(name, tr(label), optional=True))
        self.addParameter(QgsProcessingParameterExtent(
            "EXTENT", tr("Extent (default: everything)"), optional=True))
        self.add_outputs()
        for name, label in NUMBERS.items():
            self.addOutput(QgsProcessingOutputNumber(name, tr(label)))

    # -- main thread: layers -> plain data ------------------------------------------------------
    def _layer(self, parameters, context, name: str):
        layer = self.parameterAsLayer(parameters, name, context)
        if not isinstance(layer, (QgsVectorLayer, QgsRasterLayer)) or not layer.isValid():
            raise InputError(tr("{0}: choose a vector layer or a raster layer.").format(name))
        empty = isinstance(layer, QgsVectorLayer) and layer.featureCount() == 0
        if not layer.crs().isValid() and not empty:
            raise InputError(tr("{0}: layer '{1}' has no CRS.").format(name, layer.name()))
        return layer

    def _field(self, parameters, context, name: str, layer) -> str | None:
        field = (self.parameterAsString(parameters, name, context) or "").strip()
        if field and (not isinstance(layer, QgsVectorLayer) or layer.fields().indexOf(field) < 0):
            raise InputError(tr("{0}: layer '{1}' has no field '{2}'.").format(
                name, layer.name(), field))
        return field or None

    def validate(self, parameters, context) -> None:
        pred = self._layer(parameters, context, "PREDICTED")
        ref = self._layer(parameters, context, "REFERENCE")
        self._field(parameters, context, "FIELD_PREDICTED", pred)
        self._field(parameters, context, "FIELD_REFERENCE", ref)
        for name in self.OUTPUTS:
            from .base import raw_destination

            self._check_destination(name, raw_destination(parameters.get(name)))

    def prepareAlgorithm(self, parameters, context, feedback):
        try:
            self.validate(parameters, context)
            pred = self._layer(parameters, context, "PREDICTED")
            ref = self._layer(parameters, context, "REFERENCE")
            target = ref.crs() if isinstance(ref, QgsRasterLayer) or isinstance(pred, QgsVectorLayer) \
                else pred.crs()
            rect = None
            if parameters.get("EXTENT") not in (None, ""):
                rect = self.parameterAsExtent(parameters, "EXTENT", context)
                crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
                if crs.isValid() and crs != target:
                    rect = QgsCoordinateTransform(crs, target, QgsProject.instance()) \
                        .transformBoundingBox(rect)
            extent = None if rect is None or rect.isEmpty() else (
                rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
            self._run = Run(source=None, source_b=None, prompt="", model="", max_side=None,
                            opts=None, values={
                                "predicted": self._plain(pred, target, self._field(
                                    parameters, context, "FIELD_PREDICTED", pred), SCORE_FIELD),
                                "reference": self._plain(ref, target, self._field(
                                    parameters, context, "FIELD_REFERENCE", ref), None),
                                "iou": self.parameterAsDouble(parameters, "IOU", context),
                                "extent": extent, "names": (pred.name(), ref.name())})
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    @staticmethod
    def _plain(layer, target, class_field, score_field):
        from ....inference.evaluate import RasterInput, VectorInput
        from ...capture import layer_path
        from ...vector_snapshot import copy_features

        if isinstance(layer, QgsRasterLayer):
            return RasterInput(layer_path(layer))
        snap = copy_features(layer, layer.name(), to_crs=target)
        feats = snap.features
        scores = None
        if score_field and layer.fields().indexOf(score_field) >= 0 and \
                layer.fields().field(score_field).isNumeric():
            scores = [float(f.attributes.get(score_field) or 0.0) for f in feats]
        classes = [f.attributes.get(class_field) for f in feats] if class_field else None
        return VectorInput([f.wkb for f in feats], [f.fid for f in feats], snap.crs_wkt,
                           classes, scores)

    # -- worker ----------------------------------------------------------------------------------
    def act(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.evaluate import VectorInput, evaluate_layers

        v = run.values
        pred, ref = v["predicted"], v["reference"]
        if isinstance(pred, VectorInput) and isinstance(ref, VectorInput) and \
                (pred.classes is None) != (ref.classes is None):
            raise InputError(tr("Give both FIELD_PREDICTED and FIELD_REFERENCE, or neither."))
        run.progress(5)
        result, feats, crs_wkt = evaluate_layers(pred, ref, iou=v["iou"], extent=v["extent"])
        run.cancel.check()
        out = ActionResult(text=result.to_text(), features=feats, crs_wkt=crs_wkt)
        out.meta.update(metrics=result.metrics, predicted=v["names"][0], reference=v["names"][1])
        return out

    def write_text(self, result, path: str) -> None:
        if path.lower().endswith(".json"):
            doc = {**result.meta["metrics"], "algorithm": "eolens:evaluate",
                   "predicted_layer": result.meta["predicted"],
                   "reference_layer": result.meta["reference"]}
            body = json.dumps(doc, indent=2, ensure_ascii=False)
        else:
            body = result.text
        tmp = path + ".part"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(body + "\n")
        os.replace(tmp, path)

    def write_outputs(self, result, parameters, context, written, feedback) -> dict:
        out = super().write_outputs(result, parameters, context, written, feedback)
        metrics = result.meta["metrics"]
        out.update({name: float(metrics[name.lower()]) for name in NUMBERS})
        return out
