"""eolens:evaluate: score a result layer (vector or mask raster) against a reference."""
from __future__ import annotations

import json
import math
import os
from array import array
from typing import ClassVar

import numpy as np

from qgis.core import (QgsCoordinateTransform, QgsFeatureRequest, QgsProcessingException,
                       QgsProcessingOutputNumber, QgsProcessingParameterExtent,
                       QgsProcessingParameterMapLayer, QgsProcessingParameterNumber,
                       QgsProcessingParameterString, QgsProject, QgsRasterLayer, QgsVectorLayer)

from ....inference.errors import Cancelled, EOLensError, InputError
from ....inference.validate import check_distinct
from ...translate import N_
from .base import EOLensAlgorithm, Run, raw_destination, tr

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
            raise InputError(self._unreadable(name, parameters.get(name)))
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

    @staticmethod
    def _unreadable(name: str, raw) -> str:
        """Why ``raw`` (what the analyst gave as ``name``) is not a layer, naming the file."""
        text = raw.source() if hasattr(raw, "source") else str(raw or "")
        path = text.split("|")[0]
        if not path:
            return tr("{0}: choose a vector layer or a raster layer.").format(name)
        if not os.path.exists(path):
            return tr("{0}: '{1}' does not exist.").format(name, path)
        if os.path.isdir(path):
            return tr("{0}: '{1}' is a folder, not a vector layer or raster file.").format(name, path)
        if os.path.getsize(path) == 0:
            return tr("{0}: '{1}' is empty (0 bytes); it is not a readable vector layer or "
                      "raster.").format(name, path)
        return tr("{0}: '{1}' is not a readable vector layer or raster (damaged, truncated or "
                  "another kind of file).").format(name, path)

    def _check_iou(self, parameters) -> None:
        """IOU within the declared range, said before QGIS's bare 'Incorrect parameter value'."""
        definition = self.parameterDefinition("IOU")
        low, high = definition.minimum(), definition.maximum()
        raw = parameters.get("IOU")
        if raw in (None, ""):
            return
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            raise InputError(tr("IOU must be a number from {0} to {1} (the least overlap, as "
                                "intersection over union, for two objects to match); got "
                                "'{2}'.").format(low, high, raw))

    @staticmethod
    def _file_of(layer) -> str:
        """The local file behind ``layer``, or '' for memory and database layers."""
        path = layer.source().split("|")[0]
        return path if os.path.isfile(path) else ""

    def validate(self, parameters, context) -> None:
        self._check_iou(parameters)
        pred = self._layer(parameters, context, "PREDICTED")
        ref = self._layer(parameters, context, "REFERENCE")
        self._field(parameters, context, "FIELD_PREDICTED", pred)
        self._field(parameters, context, "FIELD_REFERENCE", ref)
        for name in self.OUTPUTS:
            self._check_destination(name, raw_destination(parameters.get(name)))
        check_distinct({"PREDICTED": self._file_of(pred), "REFERENCE": self._file_of(ref)},
                       self._destinations(parameters))
        self._area(parameters, context, pred, ref, self._target(pred, ref))

    @staticmethod
    def _target(pred, ref):
        """The common CRS: the reference's, or the predicted raster's against a vector reference."""
        return ref.crs() if isinstance(ref, QgsRasterLayer) or isinstance(pred, QgsVectorLayer) \
            else pred.crs()

    def _area(self, parameters, context, pred, ref, target):
        """EXTENT in the target CRS as (xmin, ymin, xmax, ymax), or None for everything.

        Refused when it has no area or misses both layers (it would score nothing)."""
        rect, crs = self._extent(parameters, context, ref)
        if rect is None:
            return None
        if crs.isValid() and crs != target:
            rect = QgsCoordinateTransform(crs, target, QgsProject.instance()).transformBoundingBox(rect)
        missed = []
        for name, layer in (("PREDICTED", pred), ("REFERENCE", ref)):
            ext = layer.extent()
            if layer.crs().isValid() and layer.crs() != target and not ext.isEmpty():
                ext = QgsCoordinateTransform(layer.crs(), target, QgsProject.instance()) \
                    .transformBoundingBox(ext)
            if ext.isNull() or not ext.intersects(rect):
                missed.append(f"{name} '{layer.name()}'")
        if len(missed) == 2:
            raise InputError(tr("EXTENT '{0}' is outside both layers, {1} and {2}: nothing to "
                                "evaluate there; give an extent that covers them (or none for "
                                "everything).").format(parameters.get("EXTENT"), *missed))
        return rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()

    def prepareAlgorithm(self, parameters, context, feedback):
        try:
            self.validate(parameters, context)
            pred = self._layer(parameters, context, "PREDICTED")
            ref = self._layer(parameters, context, "REFERENCE")
            target = self._target(pred, ref)
            extent = self._area(parameters, context, pred, ref, target)
            total = sum(lyr.featureCount() for lyr in (pred, ref) if isinstance(lyr, QgsVectorLayer))
            reader = _Reader(feedback, max(1, total), extent, target)
            self._run = Run(source=None, source_b=None, prompt="", model="", max_side=None,
                            opts=None, values={
                                "predicted": reader.read(pred, self._field(
                                    parameters, context, "FIELD_PREDICTED", pred), SCORE_FIELD),
                                "reference": reader.read(ref, self._field(
                                    parameters, context, "FIELD_REFERENCE", ref), None),
                                "iou": self.parameterAsDouble(parameters, "IOU", context),
                                "extent": extent, "names": (pred.name(), ref.name())})
        except EOLensError as err:
            raise QgsProcessingException(str(err)) from err
        return True

    # -- worker ----------------------------------------------------------------------------------
    def act(self, run: Run):
        from ....inference.actions import ActionResult
        from ....inference.evaluate import VectorInput, evaluate_layers

        v = run.values
        pred, ref = v["predicted"], v["reference"]
        if isinstance(pred, VectorInput) and isinstance(ref, VectorInput) and \
                (pred.classes is None) != (ref.classes is None):
            raise InputError(tr("Give both FIELD_PREDICTED and FIELD_REFERENCE, or neither."))
        from ....inference.cancel import sub_progress

        names = (f"PREDICTED '{v['names'][0]}'", f"REFERENCE '{v['names'][1]}'")
        result, feats, crs_wkt = evaluate_layers(
            pred, ref, iou=v["iou"], extent=v["extent"], names=names, cancel=run.cancel,
            progress=sub_progress(run.progress, READ_SHARE * 100 / 95, 100))
        run.cancel.check()
        out = ActionResult(text=result.to_text(), features=feats, crs_wkt=crs_wkt,
                           warnings=list(result.warnings))
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
        out.update({name: None if metrics[name.lower()] is None else float(metrics[name.lower()])
                    for name in NUMBERS})  # undefined (an empty layer): NULL, not 0
        return out


class _Reader:
    """Vector layers to plain data on the main thread: only the fields used, only the features
    in EXTENT, progress on 0..READ_SHARE and Cancel checked as it goes."""

    def __init__(self, feedback, total: int, extent, target) -> None:
        self.feedback, self.total, self.done = feedback, total, 0
        self.extent, self.target = extent, target

    def read(self, layer, class_field, score_field):
        from ....inference.evaluate import RasterInput, VectorInput
        from ...capture import layer_path

        if isinstance(layer, QgsRasterLayer):
            return RasterInput(layer_path(layer))
        fields = layer.fields()
        if not (score_field and fields.indexOf(score_field) >= 0 and
                fields.field(score_field).isNumeric()):
            score_field = None
        request = self._request(layer, [f for f in (class_field, score_field) if f])
        xform = None
        if self.target.isValid() and layer.crs().isValid() and layer.crs() != self.target:
            xform = QgsCoordinateTransform(layer.crs(), self.target, QgsProject.instance())
        wkbs, fids, boxes = [], [], array("d")
        classes: list | None = [] if class_field else None
        scores: list | None = [] if score_field else None
        for feat in layer.getFeatures(request):
            self._tick()
            geom = feat.geometry()
            if geom is None or geom.isNull() or geom.isEmpty():
                wkbs.append(None)
                boxes.extend(_NO_BOX)
            else:
                if xform is not None:
                    geom.transform(xform)
                wkbs.append(bytes(geom.asWkb()))
                box = geom.boundingBox()
                boxes.extend((box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()))
            fids.append(int(feat.id()))
            if classes is not None:
                classes.append(_plain_value(feat[class_field]))
            if scores is not None:
                scores.append(float(_plain_value(feat[score_field]) or 0.0))
        crs = self.target if xform is not None else layer.crs()
        return VectorInput(wkbs, fids, crs.toWkt(), classes, scores,
                           np.frombuffer(boxes, float).reshape(-1, 4) if boxes else None)

    def _request(self, layer, attributes: list[str]) -> QgsFeatureRequest:
        request = QgsFeatureRequest()
        request.setSubsetOfAttributes(attributes, layer.fields())
        if self.extent is not None:
            from qgis.core import QgsRectangle

            rect = QgsRectangle(*self.extent)
            if layer.crs().isValid() and self.target.isValid() and layer.crs() != self.target:
                rect = QgsCoordinateTransform(self.target, layer.crs(), QgsProject.instance()) \
                    .transformBoundingBox(rect)
            request.setFilterRect(rect)
        return request

    def _tick(self) -> None:
        self.done += 1
        if self.done % 5000 == 0:
            if self.feedback is not None:
                if self.feedback.isCanceled():
                    raise Cancelled(tr("Cancelled by the user."))
                self.feedback.setProgress(READ_SHARE * min(1.0, self.done / self.total))


_NO_BOX = (math.nan,) * 4
READ_SHARE = 30.0  # percent of the progress bar spent reading the layers on the main thread


def _plain_value(v):
    """A field value as plain Python (NULL -> None)."""
    from qgis.PyQt.QtCore import QVariant

    if isinstance(v, QVariant):
        return None if v.isNull() else v.value()
    return v
