"""The operator-action chain verifies, and an edited, inserted, deleted or cut-off row shows,
named by its id; without the key no row can be forged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from tradewind.persistence.audit import chain_head, record_operator_action, verify_chain
from tradewind.persistence.bots import open_bot
from tradewind.persistence.models import OperatorActionRow

ACTIONS = OperatorActionRow.__table__
KEY = b"k" * 32


def _chain(tmp_path: Path, count: int = 4) -> Any:
    bot = open_bot("alpha", bots_dir=tmp_path)
    for index in range(count):
        record_operator_action(bot.engine, KEY, actor="ops", channel="cli", action=f"a{index}",
                               detail={"symbol": "BTC/USDT"}, outcome="done", bot_id=bot.bot_id)  # fmt: skip
    return bot


def test_an_intact_chain_verifies_and_the_head_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tradewind.persistence.audit"):
        bot = _chain(tmp_path)
    report = verify_chain(bot.engine, KEY)
    assert report.ok
    assert report.rows == 4
    head = chain_head(bot.engine)
    assert head is not None
    assert head.row_count == 4
    assert head.last_id == 4
    assert f"4 rows, last id 4, last hmac {head.last_hash}" in caplog.text


def test_the_wrong_key_fails_at_the_first_row(tmp_path: Path) -> None:
    bot = _chain(tmp_path)
    report = verify_chain(bot.engine, b"x" * 32)
    assert not report.ok
    assert report.row_id == 1


def test_an_edited_row_is_named(tmp_path: Path) -> None:
    bot = _chain(tmp_path)
    with bot.engine.begin() as connection:
        connection.execute(update(ACTIONS).where(ACTIONS.c.id == 2).values(action="resume"))
    report = verify_chain(bot.engine, KEY)
    assert report.row_id == 2
    assert "row 2 was edited" in str(report.problem)


def test_an_inserted_row_is_named(tmp_path: Path) -> None:
    bot = _chain(tmp_path)
    with bot.engine.begin() as connection:
        rows = list(connection.execute(select(ACTIONS).order_by(ACTIONS.c.id.desc())))
        # Make room after row 2 (renumber 3, 4 to 4, 5), then slip a forged row in as row 3.
        for row in rows[:2]:
            connection.execute(update(ACTIONS).where(ACTIONS.c.id == row.id).values(id=row.id + 1))
        forged = {**rows[1]._asdict(), "id": 3, "action": "withdraw", "hash": "f" * 64,
                  "previous_hash": rows[2].hash}  # fmt: skip
        connection.execute(insert(ACTIONS), forged)
    report = verify_chain(bot.engine, KEY)
    assert report.row_id == 3
    assert "row 3 was inserted" in str(report.problem)


def test_a_deleted_row_is_named(tmp_path: Path) -> None:
    bot = _chain(tmp_path)
    with bot.engine.begin() as connection:
        connection.execute(delete(ACTIONS).where(ACTIONS.c.id == 2))
    report = verify_chain(bot.engine, KEY)
    assert report.row_id == 3
    assert "deleted before row 3" in str(report.problem)


def test_a_truncated_tail_is_detected(tmp_path: Path) -> None:
    bot = _chain(tmp_path)
    with bot.engine.begin() as connection:
        connection.execute(delete(ACTIONS).where(ACTIONS.c.id >= 3))
    report = verify_chain(bot.engine, KEY)
    assert not report.ok
    assert "tail was truncated" in str(report.problem)
    assert "2 are missing" in str(report.problem)
