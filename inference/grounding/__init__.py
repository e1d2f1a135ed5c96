"""Answers grounded in the analyst's own GIS: vector-layer context, documents, and the prompt."""
