"""Benchmarks that print figures (never timed tests): `python -m bench.run_all` (`make bench`)
or one of them, `python -m bench.<intake|actions|reads|timers|hold> [--quick]`."""
