"""Test kit: builders for instruments, bars and paths to the shared real data, for short tests."""
