"""Models: the registry of named checkpoints, the runtime that loads and caches them, hub access,
safe weight loading, devices, and one module per family (each a ``Backend``)."""
