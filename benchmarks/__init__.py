"""Speed and time-to-quality measurements: `python -m benchmarks` (or `make bench`) prints a table and
merges its records into benchmarks/results.json. Each module here measures one thing and returns records."""
