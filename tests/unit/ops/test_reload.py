"""A config reload against the running config: command-line values still win over the file."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.config import load_config
from tradewind.core.errors import UserError
from tradewind.ops.reload import reload_config


@pytest.fixture
def tradewind_level() -> Iterator[None]:
    """A reload sets the ``tradewind`` logger's level: put it back after the test."""
    logger = logging.getLogger("tradewind")
    before = logger.level
    yield
    logger.setLevel(before)


def test_a_flag_the_bot_started_with_is_not_read_as_a_change(
    tmp_path: Path, tradewind_level: None
) -> None:
    path = tmp_path / "tradewind.toml"
    path.write_text('[log]\nlevel = "INFO"\n')
    flags = {"log.json_lines": True}  # `tradewind --json-logs trade ...`
    running = load_config(path, overrides=flags)
    path.write_text('[log]\nlevel = "DEBUG"\n')
    new, changed = reload_config(running, path, flags)
    assert changed == ["log.level"]
    assert new.log.json_lines is True
    assert logging.getLogger("tradewind").level == logging.DEBUG
    # Without the flags, the file alone reads as turning json_lines off: refused by name.
    with pytest.raises(UserError, match=r"log\.json_lines"):
        reload_config(running, path)
