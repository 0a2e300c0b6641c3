"""Benchmarks: commands that measure the system on this machine and save their figures.

``ioc bench ingest`` (or ``bench/ingest``) runs ``bench.ingest``; results go to
``bench/results/`` as JSON.
"""
