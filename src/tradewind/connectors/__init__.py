"""The one place that imports ccxt: client construction, URL overrides, error classification."""
