"""The archive index: every tile of many rasters embedded once (build), stored in one GeoPackage
(store), and searched by text or example image (query)."""
