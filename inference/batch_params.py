"""Typed parameters of the batch actions: label features, index rasters, search an index.

Each is a frozen dataclass of plain values (paths, names, numbers) that the dock's prefilled
Processing dialog and a direct Processing call build in one place, so equal inputs give equal
objects. ``validate()`` needs no model weights and no pixels: it runs before any model loads and
raises :class:`InputError` / :class:`ModelError` with the same words wherever it is called from.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from .archive.build import IndexSettings, skip_text
from .errors import InputError
from .io.label_writer import check_resumable
from .label import MODE_TASKS, LabelSpec, check_spec
from .validate import check_distinct, check_writable

VECTOR_EXTS = (".gpkg", ".shp")
INDEX_TASKS = ("search", "embed_image")
MIN_TILE = 16


def _check_model(model: str, tasks: tuple[str, ...]) -> None:
    """A model name that cannot be what the analyst meant fails here, without weights."""
    from .errors import ModelError
    from .models import runtime

    if not model:
        raise ModelError("Please choose a model (MODEL).")
    runtime.check_model(model, tasks)


def _check_vector_output(name: str, path: str) -> None:
    if not path:
        raise InputError(f"{name}: choose an output file ({' or '.join(VECTOR_EXTS)}).")
    if os.path.splitext(path)[1].lower() not in VECTOR_EXTS:
        raise InputError(f"{name}: '{path}' must end in {' or '.join(VECTOR_EXTS)}.")
    check_writable(name, path)


@dataclass(frozen=True)
class LabelParams:
    """One ``label`` run: the raster, the features' file, what to ask and where to write.

    ``features`` is the path of the features' file ("" for a layer held only in memory),
    ``selected_only`` whether only its selected features are labelled;
    ``output`` may exist already (a re-run resumes it) but may never be an input.
    """

    raster: str
    features: str
    output: str
    mode: str
    model: str
    layer: Optional[str] = None
    selected_only: bool = False
    prompt: str = ""
    classes: tuple[str, ...] = ()
    buffer: float = 0.0
    buffer_fraction: bool = False
    max_side: Optional[int] = None
    bands: Optional[tuple[int, ...]] = None

    def spec(self) -> LabelSpec:
        """The per-chip request :func:`inference.label.label_features` takes."""
        return LabelSpec(mode=self.mode, model=self.model, prompt=self.prompt,
                         classes=self.classes, buffer=self.buffer,
                         buffer_fraction=self.buffer_fraction, max_side=self.max_side,
                         bands=self.bands)

    def validate(self) -> None:
        """Mode, classes, question, buffer, model, output file and output != inputs."""
        check_spec(self.spec())
        if self.buffer < 0:
            raise InputError(f"BUFFER must be zero or more, not {self.buffer}.")
        if self.max_side is not None and self.max_side < 0:
            raise InputError(f"MAX_SIDE must be zero or more, not {self.max_side}.")
        _check_model(self.model, (MODE_TASKS[self.mode],))
        _check_vector_output("OUTPUT", self.output)
        check_distinct({"INPUT": self.raster, "FEATURES": self.features}, {"OUTPUT": self.output})
        check_resumable(self.output, self.layer, (self.model, self.spec().prompt_text()))


@dataclass(frozen=True)
class IndexParams:
    """One ``index`` run: the raster files, the index file and how tiles are cut and embedded."""

    paths: tuple[str, ...]
    index: str
    model: str
    tile: int = 224
    overlap: int = 0
    device: str = "auto"
    offline: Optional[bool] = None
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why) the search for rasters passed over

    def settings(self) -> IndexSettings:
        """The plain settings :func:`inference.archive.build.build_index` takes."""
        return IndexSettings(self.model, self.tile, self.overlap, device=self.device,
                             offline=self.offline)

    def validate(self) -> None:
        """Tile and overlap, model, index file, rasters present, and the index is no raster."""
        if self.tile < MIN_TILE:
            raise InputError(f"TILE_SIZE must be at least {MIN_TILE} pixels, not {self.tile}.")
        if not 0 <= self.overlap < self.tile:
            raise InputError(f"OVERLAP must be zero or more and smaller than TILE_SIZE "
                             f"({self.tile}), not {self.overlap}.")
        _check_model(self.model, INDEX_TASKS)
        if not self.index:
            raise InputError("INDEX: choose a .gpkg file for the index.")
        if not self.index.lower().endswith(".gpkg"):
            raise InputError(f"INDEX: '{self.index}' must end in .gpkg.")
        check_writable("INDEX", self.index)
        if not self.paths and self.skipped:
            raise InputError("No rasters to index: every candidate was skipped ("
                             + "; ".join(skip_text(p, why) for p, why in self.skipped[:5])
                             + ("; …" if len(self.skipped) > 5 else "") + ")")
        if not self.paths:
            raise InputError("No rasters to index: choose layers (INPUTS) or a folder (FOLDER).")
        for path in self.paths:
            if not os.path.isfile(path):
                raise InputError(f"INPUTS: the raster '{path}' does not exist.")
        check_distinct({f"INPUTS ({os.path.basename(p)})": p for p in self.paths},
                       {"INDEX": self.index})
        from .archive.store import check_index_file

        if os.path.exists(self.index):   # a re-run updates it: it must be an EO Lens index
            check_index_file(self.index, building=True)


@dataclass(frozen=True)
class SearchIndexParams:
    """One ``search_index`` run: a text PROMPT or an EXAMPLE raster, against one index file.

    ``model`` "" means the model the index was built with; ``output`` "" a temporary file.
    """

    index: str
    output: str
    prompt: str = ""
    example: str = ""
    top_k: int = 10
    model: str = ""
    device: str = "auto"
    offline: Optional[bool] = None

    def validate(self) -> None:
        """Index present, exactly one query, TOP_K, model (the index's own), output != inputs,
        output file. What the index holds is checked when it is opened (before any model)."""
        from .archive.model import check_same_model

        if not self.index or not os.path.isfile(self.index):
            raise InputError(f"INDEX: the index file '{self.index}' does not exist; build it "
                             "with eolens:index.")
        if bool(self.prompt.strip()) == bool(self.example):
            raise InputError("Give either a PROMPT or an EXAMPLE raster (with an EXTENT).")
        if self.top_k < 1:
            raise InputError(f"TOP_K must be at least 1, not {self.top_k}.")
        if self.model:
            _check_model(self.model, INDEX_TASKS)
            check_same_model(os.path.abspath(self.index), _index_meta(self.index), self.model)
        if self.output:
            check_distinct({"INDEX": self.index, "EXAMPLE": self.example}, {"OUTPUT": self.output})
            _check_vector_output("OUTPUT", self.output)


def _index_meta(path: str) -> dict[str, str]:
    from .archive.query import index_meta

    return index_meta(path)
