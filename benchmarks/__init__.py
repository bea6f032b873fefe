"""Formloom benchmarks: `python -m benchmarks --help`."""
