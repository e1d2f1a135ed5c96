"""Two-date change: spectral and deep-feature heat maps, thresholds, regions, in memory or streamed."""
