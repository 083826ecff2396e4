"""Benchmarks: throughput, memory and ratios against baselines, run by hand (never part of the test run)."""
