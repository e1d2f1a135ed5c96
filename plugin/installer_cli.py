"""``python -m eolens.plugin.installer``: install the packages, write constraints, or run an
offline kit. The command line sits above both the installer and the offline kit, so neither
imports the other's caller (stdlib only, no qgis, like both)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import installer, offline_kit, packages_path


def parser() -> argparse.ArgumentParser:
    """The installer's arguments and the offline kit's."""
    ap = argparse.ArgumentParser(prog="python -m eolens.plugin.installer",
                                 description="Install EO Lens's Python packages into a private folder.")
    ap.add_argument("--target", default="", help="folder (default: $EOLENS_PACKAGES or the QGIS profile's)")
    ap.add_argument("--torch", choices=("cpu", "cuda"), default="",
                    help="torch build (default: cuda when nvidia-smi sees a GPU, else cpu)")
    ap.add_argument("--python", default="", help="QGIS's Python interpreter (default: this one)")
    ap.add_argument("--proxy", default=os.environ.get("HTTPS_PROXY", ""), help="http(s) proxy URL")
    ap.add_argument("--dry-run", action="store_true", help="print the pip command lines only")
    ap.add_argument("--write-constraints", metavar="FILE", help="write the pip constraints and exit")
    offline_kit.add_arguments(ap)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; the exit status (0 done, 1 install failed, 2 kit refused)."""
    args = parser().parse_args(argv)
    if args.export_kit or args.from_kit:
        return offline_kit.cli(args)
    if args.write_constraints:
        Path(args.write_constraints).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write_constraints).write_text(installer.constraints_text(args.python or sys.executable))
        return 0
    target = Path(args.target or packages_path.packages_dir()).expanduser().resolve()
    plan = installer.make_plan(target, args.torch, args.python or sys.executable, args.proxy or None)
    if args.dry_run:
        print(plan.describe())
        for cmd in plan.commands():
            print(" ".join(installer._quote(a) for a in cmd))
        return 0
    outcome = installer.run(plan, log=lambda s: print(s, flush=True))
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
