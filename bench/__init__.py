"""openbill's benchmark harness (``make bench``, ``python -m bench``); see bench/README.md.

Kept free of imports: the peer scripts import ``bench.jobs`` from another environment.
"""
