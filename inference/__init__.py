"""EO Lens inference backend: pure Python (numpy, torch, transformers, open_clip, rasterio, shapely).

Nothing in this package may import qgis or Qt; ``tests/test_boundaries.py`` enforces it.
Heavy libraries (torch, transformers, open_clip) are imported lazily inside functions.
"""
