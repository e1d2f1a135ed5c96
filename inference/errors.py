"""Errors with messages an analyst can act on, and the one translator of library errors.

A message may be a template marked with :func:`N_` plus named fields, e.g.
``NoOverlapError(N_("The extent {extent} does not overlap raster '{path}'."), extent=e, path=p)``:
``str(err)`` is the English text, and the plugin shows ``err.translated(tr)`` (``make i18n``
collects the ``N_`` templates of ``inference/`` under the context ``EOLensErrors``).
"""
from __future__ import annotations

from collections.abc import Callable

TRANSLATION_CONTEXT = "EOLensErrors"


def N_(text: str) -> str:  # noqa: N802 - gettext convention
    """Mark a message template for translation; returned unchanged."""
    return text


class EOLensError(Exception):
    """Base class: the message is written for the user, not the developer."""

    def __init__(self, message: str = "", /, **fields: object) -> None:
        self.template, self.fields = message, fields
        super().__init__(message.format(**fields) if fields else message)

    def translated(self, translate: Callable[[str], str]) -> str:
        """The message in the UI language: ``translate`` maps the template, then the fields are
        filled in; the English text when there is no (usable) translation."""
        text = translate(self.template) if self.template else ""
        if not text or text == self.template:
            return str(self)
        try:
            return text.format(**self.fields) if self.fields else text
        except (KeyError, IndexError, ValueError):
            return str(self)


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


def is_oom(err: BaseException) -> bool:
    """Host MemoryError, torch.cuda.OutOfMemoryError, or the RuntimeError other devices raise."""
    return (isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError"
            or "out of memory" in str(err).lower())


VC_REDIST_URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"


def dll_load_hint(text: str) -> str:
    """Plain words for torch failing to load its Windows DLLs ("" for any other failure).

    ``[WinError 1114] … c10.dll`` means the Microsoft Visual C++ runtime is missing or too old."""
    if "winerror 1114" in text.lower() or "c10.dll" in text.lower():
        return ("PyTorch could not load its DLLs (c10.dll): the Microsoft Visual C++ "
                f"Redistributable is missing or too old. Install it from {VC_REDIST_URL}, then "
                "restart QGIS.")
    return ""


def translate_error(err: BaseException, name: str = "", device: str = "") -> EOLensError:
    """Any exception -> an EOLensError an analyst can act on (EO Lens errors pass through).

    The one place that words library failures: the dock, Processing and the runtime all call it.
    """
    import pickle  # nosec B403: only to recognise refused unpickling

    if isinstance(err, EOLensError):
        return err
    text = str(err)
    if dll_load_hint(text):
        return ModelError(dll_load_hint(text))
    if is_oom(err):
        what = N_("Not enough memory to run '{name}'{where}; try a smaller area, a smaller model "
                  "or the CPU.") if name else N_(
            "Not enough memory{where}; try a smaller area, a smaller model or the CPU.")
        return OutOfMemoryError(what, name=name, where=f" on {device}" if device else "")
    if isinstance(err, pickle.UnpicklingError):
        return UnsafeModelError(f"Refused to load '{name}': the checkpoint is not plain weights ({err}).")
    mismatch = ("size mismatch", "Error(s) in loading state_dict", "does not match", "shape")
    if name and (isinstance(err, AssertionError) or any(m in text for m in mismatch)):
        return ModelError(f"The weights of '{name}' do not match the expected architecture; check "
                          f"the model name or architecture ({text[:300]}).")
    if name:
        return ModelError(f"Could not load '{name}': {type(err).__name__}: {text[:300]}")
    return EOLensError(f"Unexpected error ({type(err).__name__}: {text[:300]}). Details are in "
                       f"the EO Lens log panel.")

