"""Configuration of the exchange connection (credentials, endpoints, limits)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class ExchangeConfig(BaseModel):
    """How to reach an exchange through ccxt.

    ``rest_url``/``ws_url`` point the real ccxt client at another server with the same protocol (the
    loopback exchange simulator in tests and demos). Credentials are secrets: they are redacted in
    ``config show``, reprs and logs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "binance"
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None
    # The keystore entries NAME.api_key, NAME.secret (and NAME.password) hold the credentials, so
    # no config file needs a secret: ``tradewind keys add NAME.api_key`` stores them and the
    # composition root resolves them (ops.credentials).
    keystore_entry: str | None = None
    rest_url: str | None = None
    ws_url: str | None = None
    timeout_ms: int = 10_000
    rate_limit: bool = True
    max_retries: int = 5
    """Retries of a request that failed with a transient network error, with exponential backoff."""
    retry_base_delay_s: float = 0.5
