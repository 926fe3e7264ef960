"""Live changes an operator may make without a restart: a config reload limited to the keys
marked reloadable, and a hook strategy's parameters.

A reload validates the whole file first (an error anywhere refuses all of it), then compares it
with the running config key by key: a changed key that is not reloadable refuses the reload,
naming the key, so nothing is half-applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tradewind.config import AppConfig, load_config
from tradewind.core.errors import UserError
from tradewind.engine.binding import Binding
from tradewind.ops.errors import NotAvailableError
from tradewind.strategies.base import Strategy

__all__ = ["RELOADABLE", "changed_keys", "reload_config", "set_strategy_params"]


def _set_log_level(config: AppConfig) -> None:
    logging.getLogger("tradewind").setLevel(config.log.level)


RELOADABLE: dict[str, Callable[[AppConfig], None]] = {"log.level": _set_log_level}
"""The keys a running bot applies on a reload, with how it applies each."""


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def changed_keys(old: AppConfig, new: AppConfig) -> list[str]:
    """Dotted keys whose value differs between two configs."""
    before = _flat(old.model_dump(mode="json"))
    after = _flat(new.model_dump(mode="json"))
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def reload_config(
    current: AppConfig, path: Path, overrides: Mapping[str, Any] | None = None
) -> tuple[AppConfig, list[str]]:
    """Read ``path``, validate all of it, and apply the reloadable changes.

    ``overrides`` are the command-line values the running config was built with (by dotted key):
    they still win over the file, so a flag such as ``--json-logs`` is not read as a change.

    Returns the new config and the keys applied.

    Raises
    ------
    ConfigError
        When the file is invalid anywhere (nothing is applied).
    UserError
        When a changed key is not reloadable, naming it (nothing is applied).
    """
    new = load_config(path, overrides=overrides)
    changed = changed_keys(current, new)
    refused = [k for k in changed if k not in RELOADABLE]
    if refused:
        raise UserError(
            f"not reloadable while the bot runs (restart to change): {', '.join(refused)}; "
            f"reloadable: {', '.join(sorted(RELOADABLE))}"
        )
    for key in changed:
        RELOADABLE[key](new)
    return new, changed


def set_strategy_params(binding: Binding, params: dict[str, Any]) -> dict[str, Any]:
    """Change a running hook strategy's parameters (validated as at construction); returns the
    new values.

    Raises
    ------
    NotAvailableError
        For a signal strategy (its signals were computed once, at start: restart it).
    UserError
        For an unknown parameter or a value out of range (nothing is changed).
    """
    strategy = binding.strategy
    if not binding.callback or type(strategy).signals is not Strategy.signals:
        raise NotAvailableError(
            f"strategy {binding.strategy_id!r} computes its signals once, at start: restart it "
            "with the new parameters"
        )
    strategy.update_params(**params)
    return dict(strategy.params)
