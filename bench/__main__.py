import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "build" / "pkgroot"), str(REPO)]
(REPO / "build" / "pkgroot").mkdir(parents=True, exist_ok=True)
if not (REPO / "build" / "pkgroot" / "eolens").exists():
    (REPO / "build" / "pkgroot" / "eolens").symlink_to(REPO, target_is_directory=True)


def main(only: list[str]) -> int:
    failed = 0
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if m.name.startswith("bench_"))
    for name in names:
        if only and not any(o in name for o in only):
            continue
        try:
            for key, value, unit in importlib.import_module(f"bench.{name}").run():
                print(f"BENCH {key} {value:.4g} {unit}", flush=True)
        except Exception:  # one broken bench must not hide the others
            failed += 1
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
