"""Benchmarks of every way to run a Kedro pipeline on the same pipelines and cluster:
`python -m benchmarks.run` from the starter's root folder (see run.py)."""
