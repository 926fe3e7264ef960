"""Exchange credentials from the keystore: the config names entries, never holds the secrets."""

from __future__ import annotations

from pydantic import SecretStr

from tradewind.connectors.config import ExchangeConfig
from tradewind.ops.keystore import Keystore, KeystoreError


def with_keystore_credentials(cfg: ExchangeConfig, store: Keystore) -> ExchangeConfig:
    """``cfg`` with ``api_key``/``secret`` (and ``password`` when stored) read from the keystore
    entries ``<keystore_entry>.api_key`` and so on; ``cfg`` as it is when it names no entry.

    Raises
    ------
    KeystoreError
        When the config names an entry the keystore lacks, or also holds a secret itself.
    """
    prefix = cfg.keystore_entry
    if prefix is None:
        return cfg
    if cfg.api_key is not None or cfg.secret is not None:
        raise KeystoreError(
            "exchange.keystore_entry is set and the config holds api_key/secret too: keep the "
            "credentials in one place (the keystore)"
        )
    values = {
        "api_key": SecretStr(store.get(f"{prefix}.api_key").reveal()),
        "secret": SecretStr(store.get(f"{prefix}.secret").reveal()),
    }
    if f"{prefix}.password" in store:
        values["password"] = SecretStr(store.get(f"{prefix}.password").reveal())
    return cfg.model_copy(update=values)
