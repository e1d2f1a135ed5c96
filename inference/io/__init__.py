"""Rasters and vectors in and out: windowed reads, co-registration, georeferencing, stretch,
and the writers with their all-or-nothing staging."""
