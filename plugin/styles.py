"""Styles for result layers: boxes as outlines, masks as translucent fills, heat maps as ramps."""
from __future__ import annotations

from qgis.core import (QgsColorRampShader, QgsFillSymbol, QgsPalettedRasterRenderer,
                       QgsRasterLayer, QgsRasterShader, QgsSingleBandPseudoColorRenderer,
                       QgsStyle, QgsVectorLayer)
from qgis.PyQt.QtGui import QColor

BOX_COLOUR = "#ff3b30"
MASK_COLOUR = "#00b7eb"
CHANGE_COLOUR = "#ff9500"
HEAT_LEGEND = ("#000004", "#3b0f70", "#8c2981", "#de4968", "#fe9f6d", "#fcfdbf")   # Magma, low → high
HEAT_OPACITY = 0.55   # the imagery must stay readable beneath


def outline(layer: QgsVectorLayer, colour: str = BOX_COLOUR, width: float = 0.6) -> None:
    symbol = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": colour,
                                         "outline_width": str(width)})
    layer.renderer().setSymbol(symbol)
    layer.triggerRepaint()


def translucent(layer: QgsVectorLayer, colour: str = MASK_COLOUR, alpha: int = 60) -> None:
    c = QColor(colour)
    symbol = QgsFillSymbol.createSimple({"color": f"{c.red()},{c.green()},{c.blue()},{alpha}",
                                         "outline_color": colour, "outline_width": "0.4"})
    layer.renderer().setSymbol(symbol)
    layer.triggerRepaint()


def mask_raster(layer: QgsRasterLayer, colour: str = MASK_COLOUR) -> None:
    """Band 1 values 0/1: 0 transparent, 1 coloured."""
    classes = [QgsPalettedRasterRenderer.Class(1, QColor(colour), "mask")]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    layer.renderer().setOpacity(0.6)
    layer.triggerRepaint()


def heat_raster(layer: QgsRasterLayer, lo: float, hi: float, ramp: str = "Magma") -> None:
    """Continuous 0..1-style scores with a perceptual ramp."""
    if hi <= lo:
        hi = lo + 1e-6
    shader_fn = QgsColorRampShader(lo, hi)
    shader_fn.setSourceColorRamp(QgsStyle.defaultStyle().colorRamp(ramp))
    shader_fn.setColorRampType(QgsColorRampShader.Type.Interpolated)
    shader_fn.classifyColorRamp(5, -1)
    items = shader_fn.colorRampItemList()
    if items:    # a legend that says which end is which
        items[0].label, items[-1].label = f"low ({lo:.3g})", f"high ({hi:.3g})"
        shader_fn.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_fn)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(lo)
    renderer.setClassificationMax(hi)
    layer.setRenderer(renderer)
    layer.renderer().setOpacity(HEAT_OPACITY)
    layer.triggerRepaint()


def categorized(layer: QgsVectorLayer, field: str) -> None:
    """One colour per class value (zero-shot land cover)."""
    from qgis.core import QgsCategorizedSymbolRenderer, QgsRendererCategory, QgsSymbol

    idx = layer.fields().indexOf(field)
    values = sorted({str(v) for v in layer.uniqueValues(idx)})
    ramp = QgsStyle.defaultStyle().colorRamp("Spectral")
    cats = []
    for i, value in enumerate(values):
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(ramp.color(i / max(1, len(values) - 1)))
        symbol.setOpacity(0.6)
        cats.append(QgsRendererCategory(value, symbol, value))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, cats))
    layer.triggerRepaint()
