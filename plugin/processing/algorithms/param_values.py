"""Parameter values as an analyst may type them, read the same way by every algorithm.

A choice may be given by its text or by its number (``DEVICE=cpu`` or ``DEVICE=2``; the help of
``qgis_process`` says "number of selected option"), and a number out of range is refused with the
range it must lie in, naming the parameter, before QGIS's own "Incorrect parameter value".
"""
from __future__ import annotations

import math
from typing import Any

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterNumber, QgsProperty

from ....inference.errors import InputError


def tr(text: str) -> str:
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate("EOLensProcessing", text)


def _choice_index(value: Any, count: int) -> int | None:
    """The option number ``value`` stands for (an int or a string of digits), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number < count else None


def normalized(alg, parameters: dict) -> dict:
    """``parameters`` with each static-string choice given by number replaced by its text."""
    out = dict(parameters)
    for d in alg.parameterDefinitions():
        if not isinstance(d, QgsProcessingParameterEnum) or not d.usesStaticStrings():
            continue
        value = out.get(d.name())
        options = list(d.options())
        if isinstance(value, str) and value in options:
            continue
        index = _choice_index(value, len(options))
        if index is not None:
            out[d.name()] = options[index]
    return out


def check_choices(alg, parameters: dict) -> None:
    """A choice that is neither an option's text nor its number names the valid ones."""
    for d in alg.parameterDefinitions():
        if not isinstance(d, QgsProcessingParameterEnum) or d.allowMultiple():
            continue
        value = parameters.get(d.name())
        if value in (None, "") or isinstance(value, QgsProperty):
            continue
        options = list(d.options())
        if (isinstance(value, str) and value in options) or _choice_index(value, len(options)) is not None:
            continue
        listed = ", ".join(f"{i} = {o}" for i, o in enumerate(options))
        raise InputError(tr("{0}: '{1}' is not one of the choices; use {2}.").format(
            d.name(), value, listed))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _bounded(d: QgsProcessingParameterNumber) -> bool:
    return d.minimum() > -1e300 or d.maximum() < 1e300


def _bounds_text(d: QgsProcessingParameterNumber) -> str:
    low, high = d.minimum(), d.maximum()
    big = 1e300   # QGIS's "no limit" is +-DBL_MAX
    if low > -big and high < big:
        return tr("from {0} to {1}").format(_plain(low), _plain(high))
    if low > -big:
        return tr("at least {0}").format(_plain(low))
    return tr("at most {0}").format(_plain(high))


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_numbers(alg, parameters: dict) -> None:
    """Each number given is a finite number within its parameter's range (stated when not)."""
    for d in alg.parameterDefinitions():
        if not isinstance(d, QgsProcessingParameterNumber):
            continue
        value = parameters.get(d.name())
        if value in (None, "") or isinstance(value, QgsProperty):
            continue
        number = _number(value)
        integer = d.dataType() == QgsProcessingParameterNumber.Type.Integer
        if number is None or (integer and not number.is_integer()):
            kind = tr("a whole number") if integer else tr("a finite number")
            text = tr("{0}: '{1}' is not {2}.").format(d.name(), value, kind)
            if _bounded(d):
                text = text[:-1] + tr("; give a value {0}.").format(_bounds_text(d))
            raise InputError(text)
        if not d.minimum() <= number <= d.maximum():
            raise InputError(tr("{0}: '{1}' is out of range; give a value {2}.").format(
                d.name(), _plain(number), _bounds_text(d)))
