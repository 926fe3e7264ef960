"""State shared by every command of one CLI invocation: the loaded config and output options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from tradewind.config import AppConfig, load_config, secret_values


@dataclass
class CliState:
    """Global options of this invocation (set by the root callback) and the lazily loaded config."""

    debug: bool = False
    config_path: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    console: Console = field(default_factory=Console)
    err_console: Console = field(default_factory=lambda: Console(stderr=True))
    _config: AppConfig | None = None

    def reset(self) -> None:
        """Forget the options and config of a previous invocation."""
        self.debug = False
        self.config_path = None
        self.overrides = {}
        self._config = None

    def loaded_secrets(self) -> list[str]:
        """The secrets of the config loaded so far (none when it was never loaded)."""
        return [] if self._config is None else secret_values(self._config)

    def config(self, **flag_overrides: Any) -> AppConfig:
        """Return the effective config; command flags given here override everything else."""
        if flag_overrides:
            return load_config(self.config_path, overrides={**self.overrides, **flag_overrides})
        if self._config is None:
            self._config = load_config(self.config_path, overrides=self.overrides)
        return self._config


STATE = CliState()
