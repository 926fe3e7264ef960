"""The engine: one Node for every mode, its portfolio and order manager, and the backtest runner."""
