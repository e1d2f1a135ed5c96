"""Search tab: text query over a whole layer -> heat raster, ranked footprints; zero-shot map;
with an index chosen, text or "more like this" over every raster of an archive index."""
from __future__ import annotations

import os
from typing import Optional

from qgis.core import QgsCoordinateTransform, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                                 QPushButton, QSpinBox, QVBoxLayout, QWidget)

from .. import layers, messages, results, settings, styles
from ..capture import require_file
from . import algorithm_dialogs, archive_search
from .widgets import wrapping_label
from ...inference import actions

ROLE_RANK = Qt.ItemDataRole.UserRole + 2


def relative_scores(scores, lo: float, hi: float) -> list[float]:
    """Cosine similarities as 0..100 within the scene (its lowest tile 0, its best 100)."""
    span = hi - lo
    return [100.0 if span <= 0 else max(0.0, min(100.0, 100.0 * (s - lo) / span)) for s in scores]


def location_text(x: float, y: float, geographic: bool) -> str:
    return f"{y:.5f}°, {x:.5f}°" if geographic else f"{x:,.0f} E, {y:,.0f} N"


def tr(text: str) -> str:
    return QCoreApplication.translate("SearchPanel", text)


class SearchPanel(QWidget):
    def __init__(self, dock) -> None:
        super().__init__(dock)
        self.dock = dock
        self.footprints = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.query = QLineEdit(self)
        self.query.setPlaceholderText(tr("e.g. a harbour with ships"))
        self.query.returnPressed.connect(self.search)
        form.addRow(tr("Query"), self.query)
        self.top_k = QSpinBox(self)
        self.top_k.setRange(1, 500)
        self.top_k.setValue(10)
        form.addRow(tr("Top K"), self.top_k)
        self.tile = QSpinBox(self)
        self.tile.setRange(32, 4096)
        self.tile.setValue(224)
        form.addRow(tr("Tile size (px)"), self.tile)
        self.index_file = archive_search.index_widget(self)
        self.index_file.fileChanged.connect(self._index_changed)
        form.addRow(tr("Index"), self.index_file)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.search_button = QPushButton(tr("Search the layer"), self)
        self.search_button.clicked.connect(self.search)
        self.like_button = QPushButton(tr("More like this"), self)
        self.like_button.setToolTip(tr("Search the index for tiles like the tile selected in the list, "
                                       "or like the drawn rectangle (Area: Drawn rectangle)"))
        self.like_button.clicked.connect(self.more_like_this)
        row.addWidget(self.search_button, 1)
        row.addWidget(self.like_button)
        layout.addLayout(row)
        self.legend = QLabel(self)
        self.legend.setText(tr("Similarity heat map: low") + " "
                            + "".join(f"<span style='color:{c}'>█</span>" for c in styles.HEAT_LEGEND)
                            + " " + tr("high"))
        self.legend.setVisible(False)
        layout.addWidget(self.legend)
        self.note = wrapping_label("", self)
        layout.addWidget(self.note)
        self.ranked = QListWidget(self)
        self.ranked.setToolTip(tr("Score: 0–100 within this search (100 = the best tile). Click to "
                                  "zoom to a tile and select it on the map."))
        self.ranked.itemClicked.connect(self.zoom_to)
        layout.addWidget(self.ranked, 1)
        self.classes = QLineEdit(self)
        self.classes.setPlaceholderText(tr("Land-cover classes, comma separated: water, forest, urban"))
        layout.addWidget(self.classes)
        self.classify_button = QPushButton(tr("Zero-shot land-cover map"), self)
        self.classify_button.clicked.connect(self.classify)
        layout.addWidget(self.classify_button)
        row = QHBoxLayout()
        self.index_button = QPushButton(tr("Index rasters…"), self)
        self.index_button.setToolTip(tr("Embed the tiles of many rasters once into an index file "
                                        "(eolens:index), then search them all"))
        self.index_button.clicked.connect(self.index_rasters)
        self.archive_button = QPushButton(tr("Search an index…"), self)
        self.archive_button.clicked.connect(self.search_index)
        row.addWidget(self.index_button)
        row.addWidget(self.archive_button)
        layout.addLayout(row)
        self._index_changed()

    # -- index mode --------------------------------------------------------------
    def index_path(self) -> str:
        """The chosen archive index, or "" to search the dock's layer."""
        return (self.index_file.filePath() or "").strip()

    def _index_changed(self, *_args) -> None:
        indexed = bool(self.index_path())
        self.search_button.setText(tr("Search the index") if indexed else tr("Search the layer"))
        self.like_button.setVisible(indexed)
        self.tile.setEnabled(not indexed)   # the index fixes its tiles

    def _check_index(self) -> str:
        from ...inference.errors import InputError

        path = self.index_path()
        if not os.path.isfile(path):
            raise InputError(tr("The index file '{}' does not exist; build one with Index "
                                "rasters….").format(path))
        return path

    def search_archive(self, prompt: str = "", example: Optional[dict] = None, what: str = ""):
        """Text (``prompt``) or an ``example`` region against the index, in a task."""
        from ...inference.errors import InputError

        try:
            path = self._check_index()
            if not prompt and not example:
                raise InputError(tr("Type what to search for, or use More like this."))
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return None
        opts = self.dock.run_options()
        work = archive_search.search_work(path, prompt, example, self.top_k.value(), opts.device,
                                          opts.offline)
        what = what or tr("'{}'").format(prompt)
        return self.dock.run(tr("Searching the index for {}").format(what), work,
                             lambda result: self._found_archive(result, path, what))

    def more_like_this(self):
        """Tiles like the selected ranked tile, else like the drawn rectangle on the dock's layer."""
        item = self.ranked.currentItem()
        example = archive_search.example_from_item(item if item and item.isSelected() else None)
        if example is not None:
            what = tr("tiles like #{} of {}").format(item.data(ROLE_RANK),
                                                    os.path.basename(example["path"]))
            return self.search_archive(example=example, what=what)
        from ..definitions import AREA_DRAWN

        if self.dock.area() != AREA_DRAWN:
            messages.report_info(self.dock.iface, tr("Select a tile in the list, or draw a "
                                                     "rectangle on a layer (Draw…), then More like "
                                                     "this."))
            return None
        try:
            source = self._source()
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return None
        return self.search_archive(example=archive_search.example_from_source(source),
                                   what=tr("tiles like the drawn rectangle on {}").format(source.name))

    def _found_archive(self, result, index_path: str, what: str) -> None:
        self.ranked.clear()
        self.legend.setVisible(False)
        name = os.path.splitext(os.path.basename(index_path))[0]
        if not result.features:
            self.footprints = None
            text = tr("The index '{}' holds no tiles to match.").format(name)
        else:
            self.footprints = results.add_vector(
                result, tr("Top {}: {}").format(len(result.features), layers.short(what)),
                "search-archive", "outline", name)
            for feat in result.features:
                self.ranked.addItem(archive_search.hit_item(feat, ROLE_RANK))
            rasters = len({f.properties["source"] for f in result.features})
            text = tr("Top {} {} from {} raster(s).").format(len(result.features), what, rasters)
        self.note.setText(text)
        self.dock.set_status(text)
        if self.footprints is not None:
            results.report_with_zoom(self.dock.iface, text, self.footprints)

    def _zoom_archive(self, item: QListWidgetItem) -> None:
        """Open the tile's raster (when not in the project yet) and zoom to the tile."""
        path = item.data(archive_search.ROLE_SOURCE)
        if archive_search.open_raster(path) is None:
            messages.report_info(self.dock.iface, tr("The raster '{}' is not there any more.").format(path))
        canvas = self.dock.iface.mapCanvas()
        rect = archive_search.tile_rect(item, canvas)
        rect.scale(1.5)
        canvas.setExtent(rect)
        canvas.refresh()

    def index_rasters(self):
        return algorithm_dialogs.open_dialog("eolens:index", algorithm_dialogs.index_params(),
                                             self.dock)

    def search_index(self):
        params = {"TOP_K": self.top_k.value()}
        if self.query.text().strip():
            params["PROMPT"] = self.query.text().strip()
        return algorithm_dialogs.open_dialog("eolens:search_index", params, self.dock)

    def _source(self):
        return self.dock.source()

    def search(self) -> None:
        query = self.query.text().strip()
        if self.index_path():
            self.search_archive(prompt=query)
            return
        try:
            source = self._source()
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return
        model, opts = settings.load().model_for("search"), self.dock.run_options()
        top_k, tile = self.top_k.value(), self.tile.value()

        folder = results.output_dir()
        def work(progress, cancel):
            result = actions.search(require_file(source, tr("Search")), query, model, bounds=source.bounds,
                                    bounds_crs=source.bounds_crs, tile=tile, top_k=top_k,
                                    bands=source.bands, opts=opts, progress=progress, cancel=cancel)
            return result, results.write_raster_for(result, f"search-{query}", folder)

        self.dock.run(tr("Searching for '{}'").format(query), work,
                      lambda out: self._found(query, *out, source.name), layers=[self.dock.layer()])

    def _found(self, query: str, result, raster_path, source: str = "") -> None:
        self.ranked.clear()
        asked, meta = self.top_k.value(), result.meta
        if not result.features:
            results.discard_file(raster_path)
            text = tr("No tile could be scored for '{}' {}: the area has no valid pixels.").format(
                query, self.dock.area_words())
            self.note.setText(text)
            self.dock.set_status(text)
            return
        lo, hi = meta.get("score_min", 0.0), meta.get("score_max", 0.0)
        relative = relative_scores([f.properties["score"] for f in result.features], lo, hi)
        for feat, rel in zip(result.features, relative):
            feat.properties["relative"] = round(rel, 1)
        if raster_path:
            results.add_raster(raster_path, result, tr("Similarity: {}").format(layers.short(query)),
                               "search-heat", source)
            self.legend.setVisible(True)
        self.footprints = results.add_vector(
            result, tr("Top {}: {}").format(len(result.features), layers.short(query)), "search-top",
            "outline", source)
        geographic = layers.crs_from_wkt(result.crs_wkt).isGeographic()
        for feat, rel in zip(result.features, relative):
            c = feat.geometry.centroid
            item = QListWidgetItem(tr("#{}  score {:.0f}  at {}").format(
                feat.properties["rank"], rel, location_text(c.x, c.y, geographic)))
            item.setToolTip(tr("Cosine similarity {:.4f} (scene range {:.4f} … {:.4f})").format(
                feat.properties["score"], lo, hi))
            item.setData(Qt.ItemDataRole.UserRole, feat.geometry.bounds)
            item.setData(Qt.ItemDataRole.UserRole + 1, result.crs_wkt)
            item.setData(ROLE_RANK, feat.properties["rank"])
            self.ranked.addItem(item)
        n = len(result.features)
        if n < asked:
            text = tr("Only {} of the {} tiles asked for qualified: the area holds {} tiles of {} px with "
                      "valid pixels.").format(n, asked, meta.get("scored", n), self.tile.value())
        else:
            text = tr("Top {} tiles for '{}'.").format(n, query)
        self.note.setText(text)
        self.dock.set_status(text)
        results.report_with_zoom(self.dock.iface, text, self.footprints)

    def zoom_to(self, item: QListWidgetItem) -> None:
        """Zoom to the clicked tile and select it in the footprint layer."""
        rank = item.data(ROLE_RANK)
        if self.footprints is not None and rank is not None:
            try:
                self.footprints.selectByExpression(f'"rank" = {int(rank)}')
            except RuntimeError:       # the layer was removed meanwhile
                self.footprints = None
        if item.data(archive_search.ROLE_SOURCE):
            self._zoom_archive(item)
            return
        xmin, ymin, xmax, ymax = item.data(Qt.ItemDataRole.UserRole)
        rect = QgsRectangle(xmin, ymin, xmax, ymax)
        canvas = self.dock.iface.mapCanvas()
        xform = QgsCoordinateTransform(layers.crs_from_wkt(item.data(Qt.ItemDataRole.UserRole + 1)),
                                       canvas.mapSettings().destinationCrs(), QgsProject.instance())
        rect = xform.transformBoundingBox(rect)
        rect.scale(1.5)
        canvas.setExtent(rect)
        canvas.refresh()

    def classify(self) -> None:
        names = [c.strip() for c in self.classes.text().split(",") if c.strip()]
        try:
            source = self._source()
        except Exception as err:  # noqa: BLE001
            messages.report_error(self.dock.iface, err)
            return
        model, opts, tile = settings.load().model_for("search"), self.dock.run_options(), self.tile.value()

        def work(progress, cancel):
            return actions.classify(require_file(source, tr("Land-cover mapping")), names, model, bounds=source.bounds,
                                    bounds_crs=source.bounds_crs, tile=tile, bands=source.bands,
                                    opts=opts, progress=progress, cancel=cancel)

        def done(result):
            layer = layers.memory_layer(tr("Land cover: {}").format(layers.short(", ".join(names))),
                                        result.crs_wkt, result.features)
            from ..styles import categorized

            categorized(layer, "class")
            layers.add_result(layer, "landcover", source=source.name,
                              details=results.details(result))

        self.dock.run(tr("Classifying tiles"), work, done, layers=[self.dock.layer()])
