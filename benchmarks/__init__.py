"""National-scale matching benchmark: a synthetic inventory of France and a timing harness.

Not part of the installed package: run from the repository root with ``python -m
benchmarks.generate`` and ``python -m benchmarks.run`` (see benchmarks/README.md).
"""
