"""``python -m bench``: run the benchmarks (see bench/harness.py and bench/README.md)."""

from bench.harness import main

raise SystemExit(main())
