"""Errors with messages an analyst can act on; the plugin shows ``str(err)`` in the message bar."""


class EOLensError(Exception):
    """Base class: the message is written for the user, not the developer."""


class InputError(EOLensError):
    """Bad raster, extent, CRS or parameter."""


class RasterReadError(InputError):
    """A raster that cannot be opened or read (corrupt, truncated, empty)."""


class NoOverlapError(InputError):
    """Two rasters or a raster and an extent that do not overlap."""


class NoDataError(InputError):
    """A window with no valid pixels: nothing to analyse."""


class TooLargeError(InputError):
    """A read that would exceed the memory budget."""


class ModelError(EOLensError):
    """A model that cannot be found, loaded or run."""


class ModelNotAvailableError(ModelError):
    """Offline and not cached, or a local folder that does not hold a model."""


class UnsafeModelError(ModelError):
    """Refused for safety: pickled code, or remote code not pinned and enabled."""


class OutOfMemoryError(ModelError):
    """The device ran out of memory."""


class Cancelled(EOLensError):
    """The user cancelled; not an error to report loudly."""
