"""Dashboard logins, refused ones included, are in the audit trail with the caller's address;
the engine's own decisions chained there stay out of the operator-actions view."""

from __future__ import annotations

from fastapi.testclient import TestClient
from ops_bot import AUDIT_KEY, Bot

from tradewind.ops.api import build_app
from tradewind.persistence import queries
from tradewind.persistence.audit import record_operator_action, verify_chain


def test_logins_are_audited(bot: Bot) -> None:
    with TestClient(build_app(bot.facade)) as client:
        refused = client.post("/dashboard/login", json={"token": "not-a-token"})
        accepted = client.post("/dashboard/login", json={"token": bot.tokens["read"]})
    assert (refused.status_code, accepted.status_code) == (401, 200)
    rows = [(a["action"], a["actor"], a["channel"], a["outcome"])
            for a in reversed(bot.facade.operator_actions(10))]  # fmt: skip
    assert rows == [
        ("login", "unknown", "dashboard", "refused: unknown, revoked or expired token"),
        ("login", "token:read-holder", "dashboard", "logged in"),
    ]
    assert "not-a-token" not in str(bot.facade.operator_actions(10))  # the attempt, not the text
    assert verify_chain(bot.database.engine, AUDIT_KEY).ok


def test_decisions_stay_out_of_the_operators_view(bot: Bot) -> None:
    engine = bot.database.engine
    record_operator_action(engine, AUDIT_KEY, actor="strategy:s", channel="engine",
                           action="order", bot_id=bot.database.bot_id)  # fmt: skip
    record_operator_action(engine, AUDIT_KEY, actor="ops", channel="cli", action="pause",
                           bot_id=bot.database.bot_id)  # fmt: skip
    assert [a["action"] for a in bot.facade.operator_actions(10)] == ["pause"]
    every = queries.operator_actions(engine, bot.database.bot_id, decisions=True)
    assert [a["action"] for a in every] == ["pause", "order"]
