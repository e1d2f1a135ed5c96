"""Find tab: text -> boxes; text, clicked points or a dragged box -> masks; export polygons."""
from __future__ import annotations

from typing import Optional

from qgis.core import QgsCoordinateTransform, QgsPointXY, QgsProject, QgsRectangle, QgsVectorLayer
from qgis.gui import QgsMapToolEmitPoint, QgsMapToolExtent, QgsVertexMarker
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                                 QPushButton, QVBoxLayout, QWidget)

from .. import layers, messages, results, settings
from ..capture import capture_image, require_file
from ...inference import actions


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
        self.last_vector: Optional[QgsVectorLayer] = None
        self.session = None                               # SAM SegmentSession (image encoded once)
        self.prompted = None                              # (key, image, Florence session) of the last text prompt
        self.session_image = None
        self._tool = None
        layout = QVBoxLayout(self)
        self.prompt = QLineEdit(self)
        self.prompt.setPlaceholderText(tr("What to find, e.g. airplanes, storage tanks, buildings"))
        layout.addWidget(self.prompt)
        self.tiled = QCheckBox(tr("Whole layer, tile by tile (native resolution)"), self)
        layout.addWidget(self.tiled)
        row = QHBoxLayout()
        self.boxes_button = QPushButton(tr("Find boxes"), self)
        self.boxes_button.clicked.connect(self.find_boxes)
        self.masks_button = QPushButton(tr("Find masks"), self)
        self.masks_button.clicked.connect(self.find_masks)
        row.addWidget(self.boxes_button)
        row.addWidget(self.masks_button)
        layout.addLayout(row)
        layout.addWidget(QLabel(tr("Or outline by hand: left-click = include, right-click = exclude")))
        row = QHBoxLayout()
        self.points_button = QPushButton(tr("Click points"), self)
        self.points_button.setCheckable(True)
        self.points_button.toggled.connect(self._points_mode)
        self.box_button = QPushButton(tr("Drag box"), self)
        self.box_button.clicked.connect(self._box_mode)
        self.clear_button = QPushButton(tr("Clear"), self)
        self.clear_button.clicked.connect(self.clear_prompts)
        self.segment_button = QPushButton(tr("Segment"), self)
        self.segment_button.clicked.connect(self.segment_prompts)
        for w in (self.points_button, self.box_button, self.clear_button, self.segment_button):
            row.addWidget(w)
        layout.addLayout(row)
        self.export_button = QPushButton(tr("Export polygons…"), self)
        self.export_button.clicked.connect(self.export_dialog)
        layout.addWidget(self.export_button)
        layout.addStretch(1)

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

    def find_boxes(self) -> None:
        prompt = self.prompt.text().strip()
        args = self._capture_args()
        if args is None:
            return
        source, s, opts, max_side = args
        model, tiled = s.model_for("detect"), self.tiled.isChecked()
        key, image, session = self._reuse(source, max_side)

        def work(progress, cancel):
            if tiled:
                path = require_file(source, tr("Whole-layer detection"))
                return None, actions.detect_tiled(path, prompt, model, bands=source.bands, opts=opts,
                                                  progress=progress, cancel=cancel)
            img = image or capture_image(source, max_side)
            return img, actions.detect(img, prompt, model, opts=opts, progress=progress, cancel=cancel,
                                       session=session)

        def done(out):
            img, result = out
            self._keep(key, img, result)
            name = tr("Boxes: {} ({})").format(prompt or tr("objects"), layers.stamp())
            self.last_vector = results.add_vector(result, name, "boxes", "outline")
            messages.report_info(self.dock.iface, tr("{} objects found.").format(len(result.features)))

        self._start(tr("Finding {}").format(prompt or tr("objects")), work, done)

    def find_masks(self) -> None:
        prompt = self.prompt.text().strip()
        args = self._capture_args()
        if args is None:
            return
        source, s, opts, max_side = args
        model = s.model_for("segment")
        key, image, session = self._reuse(source, max_side)

        folder = results.output_dir()
        tiled = self.tiled.isChecked()

        def work(progress, cancel):
            if tiled:
                path = require_file(source, tr("Whole-layer segmentation"))
                result = actions.segment_tiled(path, prompt, model, bands=source.bands, opts=opts,
                                               progress=progress, cancel=cancel)
                return None, result, results.write_raster_for(result, f"mask-{prompt}", folder)
            img = image or capture_image(source, max_side)
            result = actions.segment(img, prompt, model, opts=opts, progress=progress, cancel=cancel,
                                     session=session)
            return img, result, results.write_raster_for(result, f"mask-{prompt}", folder)

        def done(out):
            img, result, path = out
            self._keep(key, img, result)
            self._masks_done(prompt, result, path)

        self._start(tr("Segmenting {}").format(prompt), work, done)

    def _reuse(self, source, max_side):
        """(key, image, session) of the last text-prompted capture when it is the same one, so the
        model does not encode the same pixels again."""
        key = (source.path, source.layer_id, source.bounds, source.bounds_crs, source.bands, max_side)
        if self.prompted is not None and self.prompted[0] == key:
            return self.prompted
        return key, None, None

    def _keep(self, key, image, result) -> None:
        session = result.meta.pop("session", None)
        self.prompted = (key, image, session) if image is not None else None

    def _masks_done(self, prompt: str, result, raster_path) -> None:
        stamp = layers.stamp()
        if raster_path:
            results.add_raster(raster_path, result, tr("Mask: {} ({})").format(prompt, stamp), "mask-raster")
        self.last_vector = results.add_vector(result, tr("Mask polygons: {} ({})").format(prompt, stamp),
                                              "mask-polygons", "fill")

    # -- clicked points and dragged boxes ---------------------------------------
    def _points_mode(self, on: bool) -> None:
        canvas = self.dock.iface.mapCanvas()
        if on:
            self._tool = QgsMapToolEmitPoint(canvas)
            self._tool.canvasClicked.connect(self._clicked)
            canvas.setMapTool(self._tool)
        elif self._tool is not None:
            canvas.unsetMapTool(self._tool)

    def _box_mode(self) -> None:
        canvas = self.dock.iface.mapCanvas()
        self._tool = QgsMapToolExtent(canvas)
        self._tool.extentChanged.connect(self._dragged)
        canvas.setMapTool(self._tool)

    def _to_layer(self):
        layer = self.dock.layer()
        canvas_crs = self.dock.iface.mapCanvas().mapSettings().destinationCrs()
        return QgsCoordinateTransform(canvas_crs, layer.crs(), QgsProject.instance())

    def add_point(self, point: QgsPointXY, include: bool = True) -> None:
        """A prompt point given in canvas coordinates."""
        p = self._to_layer().transform(point)
        self.points.append((p.x(), p.y()))
        self.labels.append(1 if include else 0)
        marker = QgsVertexMarker(self.dock.iface.mapCanvas())
        marker.setCenter(point)
        marker.setColor(Qt.GlobalColor.green if include else Qt.GlobalColor.red)
        marker.setIconType(QgsVertexMarker.IconType.ICON_CROSS if include else QgsVertexMarker.IconType.ICON_X)
        self.markers.append(marker)

    def add_box(self, rect: QgsRectangle) -> None:
        r = self._to_layer().transformBoundingBox(rect)
        self.boxes.append((r.xMinimum(), r.yMinimum(), r.xMaximum(), r.yMaximum()))

    def _clicked(self, point, button) -> None:
        self.add_point(point, include=button != Qt.MouseButton.RightButton)

    def _dragged(self, rect) -> None:
        if not rect.isEmpty():
            self.add_box(rect)

    def clear_prompts(self) -> None:
        canvas = self.dock.iface.mapCanvas()
        for m in self.markers:
            canvas.scene().removeItem(m)
        self.points, self.labels, self.boxes, self.markers = [], [], [], []

    def segment_prompts(self) -> None:
        args = self._capture_args()
        if args is None:
            return
        source, s, opts, max_side = args
        sam = s.model_for("segment_prompt")
        points, labels, boxes = list(self.points), list(self.labels), list(self.boxes)
        key = (source.path, source.bounds, source.bounds_crs, sam)
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
            self.session, self.session_image = result.meta.pop("session", None), (key, img)
            self._masks_done(tr("points/box"), result, path)

        self._start(tr("Segmenting the clicked objects"), work, done)

    # -- export ----------------------------------------------------------------
    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("Export polygons"), "",
                                              tr("GeoPackage (*.gpkg);;ESRI Shapefile (*.shp)"))
        if path:
            self.export(path)

    def export(self, path: str, layer: Optional[QgsVectorLayer] = None):
        """Write the last polygons (or ``layer``) with the export rules of inference.export."""
        from ...inference.export import write_vector
        from ...inference.georef import GeoFeature
        from shapely import wkb

        layer = layer or self.last_vector
        if layer is None:
            messages.report_info(self.dock.iface, tr("Nothing to export yet."))
            return None
        names = layer.fields().names()
        feats = [GeoFeature(wkb.loads(bytes(f.geometry().asWkb())), layers.attributes(f, names))
                 for f in layer.getFeatures()]
        try:
            report = write_vector(feats, path, layer.crs().toWkt(), layer=layer.name())
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return None
        for warning in report.warnings:
            messages.report_info(self.dock.iface, warning, duration=10)
        messages.report_info(self.dock.iface, tr("Exported {} features to {}").format(len(feats), path))
        return report
