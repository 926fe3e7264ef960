"""Domain types with no third-party imports: money, instruments, time, market records."""
