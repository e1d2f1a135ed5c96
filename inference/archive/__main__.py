"""Command line of the archive index: ``python -m eolens.inference.archive build|search ...``.

The installer's private package folder is put on ``sys.path`` first (stdlib only, no qgis), so
rasterio, torch and open_clip are found as inside QGIS.
"""
from __future__ import annotations

from ...plugin.packages_path import activate

activate()

import argparse  # noqa: E402 - after the private packages are on the path
import json  # noqa: E402
from dataclasses import asdict  # noqa: E402
from typing import Optional, Sequence  # noqa: E402

from ..errors import EOLensError  # noqa: E402
from .build import build_index, find_rasters  # noqa: E402
from .model import IndexSettings  # noqa: E402
from .query import search_text  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: build or search an index; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m eolens.inference.archive",
                                     description="Build or search an EO Lens archive index.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="create or update an index")
    b.add_argument("index")
    b.add_argument("inputs", nargs="+", help="raster files, folders or glob patterns")
    b.add_argument("--model", default=None, help="default: the search model of the registry")
    b.add_argument("--tile", type=int, default=224)
    b.add_argument("--overlap", type=int, default=0)
    b.add_argument("--device", default="auto")
    b.add_argument("--offline", action="store_true")
    b.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="'local' for a local cluster, or a scheduler address")
    b.add_argument("--workers", type=int, default=2, help="workers of the local cluster")
    s = sub.add_parser("search", help="text query against an index")
    s.add_argument("index")
    s.add_argument("prompt")
    s.add_argument("--top-k", type=int, default=10)
    s.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            from ..models.registry import DEFAULTS

            settings = IndexSettings(args.model or DEFAULTS["search"], args.tile, args.overlap,
                                     device=args.device, offline=args.offline or None)
            paths, skipped = find_rasters(args.inputs)
            report = build_index(args.index, paths, settings, skipped=skipped,
                                 dask_address=args.dask, workers=args.workers,
                                 on_event=lambda p, what: print(f"{p}: {what}", flush=True))
            print(report.summary())
            return 1 if report.failed else 0

        for hit in search_text(args.index, args.prompt, top_k=args.top_k, device=args.device):
            print(json.dumps({k: v for k, v in asdict(hit).items() if k != "geometry"}))
        return 0
    except EOLensError as err:
        print(f"error: {err}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
