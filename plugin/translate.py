"""Translation markers shared by the plugin's modules."""


def N_(text: str) -> str:  # noqa: N802 - gettext convention
    """Mark a constant for `make i18n`; the module's ``tr()`` translates it where it is shown."""
    return text
