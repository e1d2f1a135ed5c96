"""Plugin-wide definitions shared by the dock, its panels and Processing (stdlib only, a leaf).

Kept here so modules that need the same constant never import each other for it.
"""
from __future__ import annotations

import os

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICON = os.path.join(PLUGIN_DIR, "resources", "icon.svg")

# Where an action looks: the dock's area choice.
AREA_VIEW, AREA_LAYER, AREA_DRAWN = range(3)
AREA_WORDS = {AREA_VIEW: "in this view", AREA_LAYER: "in this layer", AREA_DRAWN: "in the drawn area"}
