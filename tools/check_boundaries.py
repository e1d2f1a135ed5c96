"""`make lint` helper: run the boundary tests without the rest of the suite."""
import subprocess
import sys

sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "tests/test_boundaries.py"]))
