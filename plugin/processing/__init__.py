"""Processing provider ``eolens``: every dock action as a Processing algorithm (design.md)."""
