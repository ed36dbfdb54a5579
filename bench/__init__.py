"""`make bench`: the benchmarks, one module each, run with `python -m bench.run` (all) or
`python -m bench.<name>` (one); never timed tests. See bench/run.py."""
