"""Find tab: text -> boxes; text, clicked points or a dragged box -> masks; export polygons."""
from __future__ import annotations

from typing import Optional

from qgis.core import (Qgis, QgsCoordinateTransform, QgsGeometry, QgsPointXY, QgsProject, QgsRectangle,
                       QgsVectorLayer, QgsWkbTypes)
from qgis.gui import QgsMapToolEmitPoint, QgsMapToolExtent, QgsRubberBand, QgsVertexMarker
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (QCheckBox, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout,
                                 QWidget)

from .. import layers, messages, results, settings
from ..capture import capture_image, require_file
from . import algorithm_dialogs
from .export_dialog import ExportPolygonsDialog
from .widgets import wrapping_label
from ...inference import actions
from ...inference.params import DETECT_OVERLAP, DETECT_TILE, Area, DetectParams, SegmentParams
from ...inference.whole_layer import detect_area, segment_area, streams

INCLUDE_COLOUR, EXCLUDE_COLOUR = QColor("#00e05a"), QColor("#ff2d55")


def tr(text: str) -> str:
    return QCoreApplication.translate("FindPanel", text)


class FindPanel(QWidget):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.dock = dock
        self.points: list[tuple[float, float]] = []      # layer CRS
        self.labels: list[int] = []
        self.boxes: list[tuple[float, float, float, float]] = []
        self.markers: list[QgsVertexMarker] = []
        self.box_bands: list[QgsRubberBand] = []
        self.last_vector: Optional[QgsVectorLayer] = None
        self.session = None                               # SAM SegmentSession (image encoded once)
        self.prompted = None                              # (key, image, Florence session) of the last text prompt
        self.session_image = None
        self._tool = None
        layout = QVBoxLayout(self)
        self.prompt = QLineEdit(self)
        self.prompt.setPlaceholderText(tr("What to find, e.g. airplanes, storage tanks, buildings"))
        layout.addWidget(self.prompt)
        self.tiled = QCheckBox(tr("Whole layer, tile by tile"), self)
        self.tiled.setToolTip(tr("Run over the whole layer tile by tile, at native resolution"))
        layout.addWidget(self.tiled)
        row = QHBoxLayout()
        self.boxes_button = QPushButton(tr("Find boxes"), self)
        self.boxes_button.clicked.connect(self.find_boxes)
        self.masks_button = QPushButton(tr("Find masks"), self)
        self.masks_button.clicked.connect(self.find_masks)
        row.addWidget(self.boxes_button)
        row.addWidget(self.masks_button)
        layout.addLayout(row)
        layout.addWidget(wrapping_label(tr("Or outline by hand: left-click = include, "
                                           "right-click = exclude"), self))
        row = QHBoxLayout()
        self.points_button = QPushButton(tr("Click points"), self)
        self.points_button.setCheckable(True)
        self.points_button.toggled.connect(self._points_mode)
        self.box_button = QPushButton(tr("Drag box"), self)
        self.box_button.setCheckable(True)
        self.box_button.toggled.connect(self._box_mode)
        self.clear_button = QPushButton(tr("Clear"), self)
        self.clear_button.clicked.connect(self.clear_prompts)
        self.segment_button = QPushButton(tr("Segment"), self)
        self.segment_button.clicked.connect(self.segment_prompts)
        for w in (self.points_button, self.box_button, self.clear_button, self.segment_button):
            row.addWidget(w)
        layout.addLayout(row)
        self.prompt_count = wrapping_label("", self)
        layout.addWidget(self.prompt_count)
        self._count_prompts()
        self.export_button = QPushButton(tr("Export polygons…"), self)
        self.export_button.clicked.connect(self.export_dialog)
        layout.addWidget(self.export_button)
        self.label_button = QPushButton(tr("Label features…"), self)
        self.label_button.setToolTip(tr("A VLM answer, caption or CLIP class for every feature of the "
                                        "active vector layer (its selection, if any), in the "
                                        "eolens:label dialog"))
        self.label_button.clicked.connect(self.label_features)
        layout.addWidget(self.label_button)
        layout.addStretch(1)

    def label_features(self):
        """eolens:label's dialog, prefilled with this layer and the active vector layer."""
        active = self.dock.iface.activeLayer()
        vector = active if isinstance(active, QgsVectorLayer) and not layers.is_result(active) else None
        return algorithm_dialogs.open_dialog(
            "eolens:label", algorithm_dialogs.label_params(self.dock.layer(), vector), self.dock)

    # -- text prompts ----------------------------------------------------------
    def _start(self, title: str, work, on_done) -> None:
        self.dock.run(title, work, on_done, layers=[self.dock.layer()])

    def _capture_args(self):
        """(source, settings, run options, max_side), or None after reporting bad input."""
        try:
            s = settings.load()
            return self.dock.source(), s, self.dock.run_options(), (s.max_side if s.fit_to_model else None)
        except Exception as err:  # noqa: BLE001 - bad input goes to the message bar
            messages.report_error(self.dock.iface, err)
            return None

    def params(self, kind: str, source, s) -> DetectParams | SegmentParams:
        """The action's parameters from the widgets, the settings and the snapshot: "Whole layer,
        tile by tile" = the whole layer at native resolution in tiles of DETECT_TILE px."""
        prompt, tiled = self.prompt.text().strip(), self.tiled.isChecked()
        if tiled:
            path = require_file(source, tr("Whole-layer detection") if kind == "detect"
                                else tr("Whole-layer segmentation"))
            area = Area(bands=source.bands)
        else:
            path = source.path
            area = Area(bounds=source.bounds, bounds_crs=source.bounds_crs if source.bounds else None,
                        bands=source.bands, max_side=s.max_side if s.fit_to_model else None)
        where = dict(path=path, prompt=prompt, area=area,
                     tile=DETECT_TILE if tiled else 0, overlap=DETECT_OVERLAP)
        if kind == "detect":
            return DetectParams(model=s.model_for("detect"), **where)
        return SegmentParams(model=s.model_for("segment"), **where)

    def _prepare(self, kind: str):
        """(source, params, (key, image, session) to reuse), or None after reporting bad input."""
        args = self._capture_args()
        if args is None:
            return None
        source, s, _, max_side = args
        try:
            params = self.params(kind, source, s)
            params.validate()
        except Exception as err:  # noqa: BLE001 - bad input goes to the message bar
            messages.report_error(self.dock.iface, err)
            return None
        return source, params, self._reuse(source, max_side)

    def find_boxes(self) -> None:
        prepared = self._prepare("detect")
        if prepared is None:
            return
        source, params, (key, image, session) = prepared
        opts, prompt = self.dock.run_options(), params.prompt

        def work(progress, cancel):
            img = _capture(source, params, image)
            return img, detect_area(params, image=img, session=session, opts=opts,
                                    progress=progress, cancel=cancel)

        where = tr("in this layer") if params.tile else self.dock.area_words()

        def done(out):
            img, result = out
            self._keep(key, img, result)
            if self._nothing_found(prompt, result, where):
                return
            name = tr("Boxes: {}").format(layers.short(prompt or tr("objects")))
            self.last_vector = results.add_vector(result, name, "boxes", "outline", source.name)
            self._found(tr("{} objects found.").format(len(result.features)))

        self._start(tr("Finding {}").format(prompt or tr("objects")), work, done)

    def find_masks(self) -> None:
        prepared = self._prepare("segment")
        if prepared is None:
            return
        source, params, (key, image, session) = prepared
        opts, prompt, folder = self.dock.run_options(), params.prompt, results.output_dir()

        def work(progress, cancel):
            mask_path = results.raster_path(f"mask-{prompt}", folder)
            try:
                img = _capture(source, params, image)
                result = segment_area(params, raster_path=mask_path, image=img, session=session,
                                      opts=opts, progress=progress, cancel=cancel)
            except BaseException:
                results.discard_file(mask_path)   # a failed or cancelled run leaves no file
                raise
            return img, result

        where = tr("in this layer") if params.tile else self.dock.area_words()

        def done(out):
            img, result = out
            self._keep(key, img, result)
            if self._nothing_found(prompt, result, where, result.raster_path):
                return
            self._masks_done(prompt, result, result.raster_path, source.name)

        self._start(tr("Segmenting {}").format(prompt), work, done)

    def _reuse(self, source, max_side):
        """(key, image, session) of the last text-prompted capture when it is the same one, so the
        model does not encode the same pixels again."""
        key = (source.path, source.layer_id, source.bounds, source.bounds_crs, source.bands, max_side)
        if self.prompted is not None and self.prompted[0] == key:
            return self.prompted
        return key, None, None

    def _keep(self, key, image, result) -> None:
        session = result.session
        self.prompted = (key, image, session) if image is not None else None

    def _nothing_found(self, prompt: str, result, where: str, raster_path: Optional[str] = None) -> bool:
        """Zero features: say so in plain words, add no empty layer (and drop its empty raster)."""
        if result.features:
            return False
        results.discard_file(raster_path)
        text = tr("No objects found for '{}' {}.").format(prompt or tr("objects"), where)
        self.dock.set_status(text)
        messages.report_info(self.dock.iface, text, level=Qgis.MessageLevel.Info)
        return True

    def _found(self, text: str) -> None:
        """Status and message; with a Zoom button when the result lies outside the view."""
        self.dock.set_status(text)
        results.report_with_zoom(self.dock.iface, text, self.last_vector)

    def _masks_done(self, prompt: str, result, raster_path, source: str) -> None:
        if raster_path:
            results.add_raster(raster_path, result, tr("Mask: {}").format(layers.short(prompt)), "mask-raster",
                               source)
        self.last_vector = results.add_vector(result, tr("Mask polygons: {}").format(layers.short(prompt)),
                                              "mask-polygons", "fill", source)
        n = len(result.features)
        found = tr("Found for '{}': 1 region.") if n == 1 else tr("Found for '{}': {} regions.")
        self._found(found.format(prompt, n))

    # -- clicked points and dragged boxes ---------------------------------------
    def _points_mode(self, on: bool) -> None:
        canvas = self.dock.iface.mapCanvas()
        if on:
            self.box_button.setChecked(False)
            self._tool = QgsMapToolEmitPoint(canvas)
            self._tool.canvasClicked.connect(self._clicked)
            canvas.setMapTool(self._tool)
        else:
            self._stop_tool()

    def _box_mode(self, on: bool = True) -> None:
        canvas = self.dock.iface.mapCanvas()
        if on:
            self.points_button.setChecked(False)
            self._tool = QgsMapToolExtent(canvas)
            self._tool.extentChanged.connect(self._dragged)
            canvas.setMapTool(self._tool)
        else:
            self._stop_tool()

    def _stop_tool(self) -> None:
        """Give the map back (so stray clicks add nothing) when no prompt tool is on."""
        if self._tool is not None and not (self.points_button.isChecked() or self.box_button.isChecked()):
            canvas = self.dock.iface.mapCanvas()
            if canvas.mapTool() is self._tool:
                canvas.unsetMapTool(self._tool)
            self._tool = None

    def stop_prompting(self) -> None:
        self.points_button.setChecked(False)
        self.box_button.setChecked(False)
        self._stop_tool()

    def _to_layer(self):
        layer = self.dock.layer()
        canvas_crs = self.dock.iface.mapCanvas().mapSettings().destinationCrs()
        return QgsCoordinateTransform(canvas_crs, layer.crs(), QgsProject.instance())

    def add_point(self, point: QgsPointXY, include: bool = True) -> None:
        """A prompt point given in canvas coordinates: a large, high-contrast marker on the map."""
        p = self._to_layer().transform(point)
        self.points.append((p.x(), p.y()))
        self.labels.append(1 if include else 0)
        marker = QgsVertexMarker(self.dock.iface.mapCanvas())
        marker.setCenter(point)
        marker.setIconType(QgsVertexMarker.IconType.ICON_CIRCLE if include else QgsVertexMarker.IconType.ICON_X)
        marker.setColor(QColor("black") if include else EXCLUDE_COLOUR)
        marker.setFillColor(INCLUDE_COLOUR if include else QColor(0, 0, 0, 0))
        marker.setIconSize(16)
        marker.setPenWidth(3)
        self.markers.append(marker)
        self._count_prompts()

    def add_box(self, rect: QgsRectangle) -> None:
        """A prompt box given in canvas coordinates; it stays drawn until Clear."""
        r = self._to_layer().transformBoundingBox(rect)
        self.boxes.append((r.xMinimum(), r.yMinimum(), r.xMaximum(), r.yMaximum()))
        band = QgsRubberBand(self.dock.iface.mapCanvas(), QgsWkbTypes.GeometryType.PolygonGeometry)
        band.setStrokeColor(INCLUDE_COLOUR)
        band.setFillColor(QColor(0, 224, 90, 40))
        band.setWidth(3)
        band.setToGeometry(QgsGeometry.fromRect(rect), None)
        self.box_bands.append(band)
        self._count_prompts()

    def _count_prompts(self) -> None:
        inc = sum(self.labels)
        self.prompt_count.setText(tr("{} points ({} include, {} exclude), {} boxes").format(
            len(self.points), inc, len(self.points) - inc, len(self.boxes)))

    def _clicked(self, point, button) -> None:
        self.add_point(point, include=button != Qt.MouseButton.RightButton)

    def _dragged(self, rect) -> None:
        if not rect.isEmpty():
            self.add_box(rect)

    def clear_prompts(self) -> None:
        canvas = self.dock.iface.mapCanvas()
        for item in self.markers + self.box_bands:
            canvas.scene().removeItem(item)
        self.points, self.labels, self.boxes, self.markers, self.box_bands = [], [], [], [], []
        self._count_prompts()

    def shutdown(self) -> None:
        self.stop_prompting()
        self.clear_prompts()

    def segment_prompts(self) -> None:
        args = self._capture_args()
        if args is None:
            return
        source, s, opts, max_side = args
        sam = s.model_for("segment_prompt")
        points, labels, boxes = list(self.points), list(self.labels), list(self.boxes)
        self.stop_prompting()          # stray clicks after Segment must not add points
        key = self.encoding_key(source, sam, max_side)
        session = self.session if self.session_image is not None and self.session_image[0] == key else None
        image = self.session_image[1] if session is not None else None

        folder = results.output_dir()
        def work(progress, cancel):
            img = image or capture_image(source, max_side)
            result = actions.segment_prompts(img, sam, points=points, labels=labels, boxes=boxes,
                                             opts=opts, progress=progress, cancel=cancel, session=session)
            return img, result, results.write_raster_for(result, "mask-prompts", folder)

        def done(out):
            img, result, path = out
            self.session, self.session_image = result.session, (key, img)
            self._masks_done(tr("points/box"), result, path, source.name)

        self._start(tr("Segmenting the clicked objects"), work, done)

    @staticmethod
    def encoding_key(source, sam: str, max_side) -> tuple:
        """Everything that changes the SAM image encoding: layer, file, area, bands, size, model."""
        return (source.layer_id, source.path, source.bounds, source.bounds_crs, source.bands,
                max_side, sam, source.image is not None)

    # -- export ----------------------------------------------------------------
    def export_dialog(self) -> None:
        active = self.dock.iface.activeLayer() if hasattr(self.dock.iface, "activeLayer") else None
        default = active if isinstance(active, QgsVectorLayer) and layers.is_result(active) else self.last_vector
        dialog = ExportPolygonsDialog(self, default)
        if dialog.exec() and dialog.path():
            self.export(dialog.path(), dialog.layer())

    def export(self, path: str, layer: Optional[QgsVectorLayer] = None):
        """Write the last polygons (or ``layer``) with the export rules of inference.io.export."""
        from ...inference.io.export import write_vector
        from ...inference.io.georef import GeoFeature
        from shapely import wkb

        from .export_dialog import VECTOR_FORMATS, with_extension

        layer = layer or self.last_vector
        if layer is None:
            messages.report_info(self.dock.iface, tr("Nothing to export yet."))
            return None
        path = with_extension(path, "GeoPackage", VECTOR_FORMATS)
        keys = set(layer.primaryKeyAttributes())     # the GeoPackage fid is not an attribute
        names = [n for i, n in enumerate(layer.fields().names()) if i not in keys]
        feats = [GeoFeature(wkb.loads(bytes(f.geometry().asWkb())), layers.attributes(f, names))
                 for f in layer.getFeatures()]
        try:
            report = write_vector(feats, path, layer.crs().toWkt(), layer=layer.name())
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return None
        for warning in report.warnings:
            messages.report_info(self.dock.iface, warning, duration=10)
        messages.report_info(self.dock.iface, tr("Exported {} features to {}").format(len(feats), report.path))
        return report


def _capture(source, params, image):
    """Worker side: the capture to prompt and keep for the next prompt (the last one when it is
    the same area), or None when the action streams (``whole_layer.streams``, its own rule)."""
    if image is not None or streams(params):
        return image
    return capture_image(source, params.area.max_side)
