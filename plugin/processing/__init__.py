"""Processing provider ``eolens``: every dock action as a Processing algorithm (docs/interfaces.md)."""
