"""Speed benchmarks against the peers. Run with ``make bench`` (``python -m benchmarks``)."""
