"""Benchmarks: `make bench` runs them all and prints figures (never asserted in the test suite)."""
