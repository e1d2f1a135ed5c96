<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
  <context>
    <name>ChangePanel</name>
    <message>
      <source>Spectral (no model, instant)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Semantic (deep features)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Vision-language model (writes a caption)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Before (A)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>After (B)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Method</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>automatic</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Threshold</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Compare the two dates</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ask about the change, e.g. what was built?</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ask</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Asking about the change</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>date unknown</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Compare two dates first.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Choose two different raster layers: A (before) and B (after).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Comparing {} and {}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Change: {} → {} ({})</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Change</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Change heat: {} → {} ({})</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>You</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>ChatPanel</name>
    <message>
      <source>Brief</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Detailed</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>More detailed</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Caption this view</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ask about this view, e.g. how many ships are in the harbour?</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Ask</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>New chat</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Export chat…</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Caption</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens captions</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>You</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens chat</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Export chat</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Markdown (*.md);;HTML (*.html)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Captioning {}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Asking {}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Chat turn {} boxes</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>EOLens</name>
    <message>
      <source>EO Lens panel</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens settings…</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens needs Python packages that are missing or unusable in QGIS's Python:</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Install them with this command, then restart QGIS:</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>EOLensDock</name>
    <message>
      <source>EO Lens</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Draw…</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drag a rectangle on the map to analyse only that area</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Settings…</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cancel</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Layer</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Area</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Current view</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Whole layer</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drawn rectangle</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Chat</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Find</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Change</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Search</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Choose a raster layer first.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens is still working; cancel it first.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Done.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cancelled.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cancelling…</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Draw a rectangle on the map first (Draw…).</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>EOLensProcessing</name>
    <message>
      <source>Please choose a model (MODEL).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Raster layer (before)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Raster layer</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Unknown model '{0}'. Use one of {1}, a hub id (org/name[@revision]) or a local model folder.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Extent (default: the whole layer)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Model (registry name, hub id or local folder)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Bands to use (default: RGB / the layer's first three)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Device</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Offline: load models only from the cache or local folders</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>The algorithm was not prepared.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Raster layer (after)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Longest side of the capture in pixels (0 = native resolution)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Text</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Please enter a prompt (PROMPT).</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Out of memory. Try a smaller extent, a smaller MAX_SIDE or the CPU.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Model '{0}' cannot do this; it supports: {1}.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Model folder '{0}' does not exist.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>{0}: '{1}' must end in {2}.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>{0}: the folder '{1}' does not exist.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>{0}: choose a raster layer.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>This run produced no raster to write.</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>FindPanel</name>
    <message>
      <source>What to find, e.g. airplanes, storage tanks, buildings</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Whole layer, tile by tile</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Find boxes</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Find masks</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Click points</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Drag box</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Clear</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Segment</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Export polygons…</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Segmenting the clicked objects</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Export polygons</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>GeoPackage (*.gpkg);;ESRI Shapefile (*.shp)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Or outline by hand: left-click = include, right-click = exclude</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>points/box</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Nothing to export yet.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Boxes: {} ({})</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>objects</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Finding {}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>objects</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Segmenting {}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Mask polygons: {} ({})</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Exported {} features to {}</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>{} objects found.</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Mask: {} ({})</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>SearchPanel</name>
    <message>
      <source>e.g. a harbour with ships</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Query</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Top K</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Tile size (px)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Search the layer</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Land-cover classes, comma separated: water, forest, urban</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Zero-shot land-cover map</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Classifying tiles</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Searching for '{}'</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Top {}: {} ({})</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Similarity: {} ({})</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Land cover ({})</source>
      <translation type="unfinished" />
    </message>
  </context>
  <context>
    <name>SettingsDialog</name>
    <message>
      <source>Caption</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Detect (text → boxes)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Segment (text → masks)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Segment (points / box)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Chat</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Change caption</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Search</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>EO Lens settings</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Device</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Offline: load only from the cache or local folders</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Local model folder</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Download cache</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Fit large captures to the model (decimated read)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Capture</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Allow model code from the hub (only for revision-pinned models)</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Download selected</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Cancel download</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Free GPU memory</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>GPU memory freed</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>A registry name, a hub id (org/name or org/name@revision) or a local folder</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Model</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Tasks</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Size</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Licence</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Downloaded</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>yes</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>yes</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>no</source>
      <translation type="unfinished" />
    </message>
    <message>
      <source>Downloading {}</source>
      <translation type="unfinished" />
    </message>
  </context>
</TS>
