"""Benchmarks: each project figure beside the reference limit measured in the same run.

`make bench` (or `python -m bench`) brings a stack up on SQLite, and on PostgreSQL when
`EXPO_BENCH_DATABASE_URL` names a server, measures, prints a table and writes
`bench/results/latest.json`. See bench/README.md for how to read it.
"""
