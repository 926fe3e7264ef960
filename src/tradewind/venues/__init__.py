"""Venues: simulated, paper, live, and the loopback exchange simulator."""
