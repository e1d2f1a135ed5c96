"""QGIS-facing half of EO Lens: dock, tasks, layers, settings and the Processing provider."""
