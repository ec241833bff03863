"""Benchmarks: scripts that print figures (BENCHMARKS.md); never timed unit tests."""
