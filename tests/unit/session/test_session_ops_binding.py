"""A bot is bound to the exchange account it first traded, and to its trading mode: starting it
against another account, or a paper session on a live bot (or the reverse), is refused by name,
and only a fingerprint of the key is stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tradewind.config import AppConfig
from tradewind.core.errors import UserError
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.operate import SessionOps

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def _ops(tmp_path: Path, mode: str = "live") -> SessionOps:
    config = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path)))
    return SessionOps(config, "bot1", mode=mode)


def test_another_exchange_account_is_refused(tmp_path: Path) -> None:
    _ops(tmp_path).bind_account("binance", KEY)
    _ops(tmp_path).bind_account("binance", KEY)  # the same account again: fine
    with pytest.raises(UserError, match="trades another exchange account"):
        _ops(tmp_path).bind_account("binance", "another-key")
    with sqlite3.connect(tmp_path / "bot1" / "state.sqlite") as connection:
        dump = "\n".join(connection.iterdump())
    assert KEY not in dump
    assert KEY[:12] not in dump


def test_a_paper_session_never_continues_a_live_bot(tmp_path: Path) -> None:
    live = _ops(tmp_path)
    live.open_database().start_session(mode="live", strategies=["s"], parameters={},
                                       config_hash="", code_version="")  # fmt: skip
    with pytest.raises(UserError, match="has traded in live mode; a paper session never"):
        _ops(tmp_path, mode="paper").bind_account("binance", "paper")
    with pytest.raises(UserError, match="has traded in live mode"):
        _ops(tmp_path, mode="paper").resume({})
