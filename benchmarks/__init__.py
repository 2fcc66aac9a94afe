"""Benchmarks of a baked project's pipeline: `python3 run.py benchmark` prints the table.

Figures are printed (and written as Markdown for the README), never asserted: speed targets
live here, not in timed tests.
"""
