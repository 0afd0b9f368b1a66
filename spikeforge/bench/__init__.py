"""Benchmarks behind ``spikeforge bench``: each compares side by side in one run."""
