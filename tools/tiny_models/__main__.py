import sys
from pathlib import Path

from . import build_all

if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "build/tiny-models")
    for family, path in build_all(root).items():
        print(f"{family}: {path}")
