"""The operator-action chain verifies, and any edit or deletion breaks it at that row."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, update

from tradewind.persistence.audit import record_operator_action, verify_chain
from tradewind.persistence.bots import open_bot
from tradewind.persistence.models import OperatorActionRow

ACTIONS = OperatorActionRow.__table__


def test_the_chain_verifies_and_shows_tampering(tmp_path: Path) -> None:
    bot = open_bot("alpha", bots_dir=tmp_path)
    hashes = [
        record_operator_action(bot.engine, actor="ops", channel="cli", action=action,
                               detail={"symbol": "BTC/USDT"}, outcome="done", bot_id=bot.bot_id)
        for action in ("pause", "flatten", "resume")
    ]  # fmt: skip
    assert len(set(hashes)) == 3
    assert verify_chain(bot.engine) is None
    with bot.engine.begin() as connection:
        connection.execute(update(ACTIONS).where(ACTIONS.c.id == 2).values(action="resume"))
    assert verify_chain(bot.engine) == 2
    with bot.engine.begin() as connection:
        connection.execute(update(ACTIONS).where(ACTIONS.c.id == 2).values(action="flatten"))
    assert verify_chain(bot.engine) is None  # restored: verifies again
    with bot.engine.begin() as connection:
        connection.execute(delete(ACTIONS).where(ACTIONS.c.id == 1))
    assert verify_chain(bot.engine) == 2
