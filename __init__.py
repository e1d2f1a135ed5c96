"""EO Lens QGIS plugin entry point. Nothing heavy is imported here (torch is loaded on first use)."""


def classFactory(iface):  # noqa: N802 (QGIS API name)
    from .plugin.main import EOLensPlugin

    return EOLensPlugin(iface)
