"""Benchmarks of the ingest and API targets: `python -m bench` (see `bench/__main__.py`).

Every module returns a plain dict; `bench.report` turns them into docs/benchmarks.md. The
machine these run on is small and shared, so every target is judged by a ratio (or a count)
measured side by side in one run, never by an absolute time.
"""
