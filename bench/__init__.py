"""Benchmarks: `make bench` runs every bench/bench_*.py and prints `BENCH <name> <value> <unit>` lines.

Each module exposes ``run() -> Iterable[tuple[str, float, str]]``. Figures are ratios taken within
one run (pipeline vs bare forward), so they compare across machines.
"""
