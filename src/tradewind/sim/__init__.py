"""Market-simulation rules as pure, numba-compatible functions, shared by the event engine's venue
and the compiled screening kernel, so both make the same fills by construction."""
