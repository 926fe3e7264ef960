"""Every control-facade action through the REST API on a bot trading the real BTC minutes on the
simulated venue, with the effect checked on the venue's side (its request log, its working orders
and balances) and each action found in the HMAC-chained operator-actions table.

The operator acts between bars: the strategy's hook hands the bar to a function that calls the API
through FastAPI's TestClient (the app runs on the client's own loop thread while the trading thread
waits), as an operator's request arriving while the bot runs.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from ops_bot import AUDIT_KEY, SYMBOL, Bot, make_bot

from tradewind.ops.api import LoginLimiter, build_app
from tradewind.persistence.audit import verify_chain


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_pause_stop_entries_force_exit_and_emergency_stop_act_on_the_venue(bot: Bot) -> None:
    app = build_app(bot.facade)
    answers: dict[str, Any] = {}
    trade = _auth(bot.tokens["trade"])
    read = _auth(bot.tokens["read"])
    with TestClient(app) as client:

        def operator(i: int, ctx: object) -> None:
            def post(path: str, **body: Any) -> dict[str, Any]:
                r = client.post(
                    f"/api/v1/{path}", headers=trade, json={"reason": f"bar {i}", **body}
                )
                assert r.status_code == 200, r.text
                return dict(r.json())

            if i == 1000:
                answers["pause"] = post("pause")
            elif i == 1500:
                answers["resume"] = post("resume")
            elif i == 2000:
                answers["stop"] = post("symbols/BTC-USDT/stop-entries")
            elif i == 2500:
                answers["allow"] = post("symbols/BTC-USDT/allow-entries")
            elif i == 2710:
                answers["held_before_exit"] = client.get("/api/v1/positions", headers=read).json()
                answers["force_exit"] = post("force-exit", symbol=SYMBOL)
            elif i == 3560:
                answers["held_before_stop"] = client.get("/api/v1/positions", headers=read).json()
                answers["emergency"] = post("emergency-stop")
                answers["status"] = client.get("/api/v1/status", headers=read).json()

        bot.strategy.operator = operator
        bot.run()

    entry_times = [ts for ts, _ in bot.entries()]
    assert entry_times, "the bot traded"
    # Paused from bar 1000's close to bar 1500's: the venue got no entry (two were due).
    assert not [t for t in entry_times if bot.bar_close(1000) <= t < bot.bar_close(1500)]
    assert [t for t in entry_times if bot.bar_close(1500) <= t < bot.bar_close(2000)]
    # Entries stopped in the symbol from bar 2000 to 2500: none reached the venue.
    assert not [t for t in entry_times if bot.bar_close(2000) <= t < bot.bar_close(2500)]
    assert answers["stop"]["outcome"] == f"entries stopped in {SYMBOL}"
    # Force exit at bar 2710 while long: a reduce-only sell reached the venue at that time.
    assert len(answers["held_before_exit"]) == 1
    exits = [o for kind, ts, o in bot.port.requests
             if kind == "submit" and o.reduce_only and ts == bot.bar_close(2710)]  # fmt: skip
    assert len(exits) == 1
    assert exits[0].tag.startswith("force exit")
    # Emergency stop at bar 3560 while long: the venue holds no working order and no BTC of the
    # bot's after the flattening exit filled, and no entry came after it.
    assert len(answers["held_before_stop"]) == 1
    assert answers["status"]["halted"] is True
    assert not [t for t in entry_times if t >= bot.bar_close(3560)]
    assert bot.venue._working == {}
    assert bot.venue.balance("BTC") < Decimal("0.001")
    assert bot.node.account.open_positions() == []
    # Every action is in the operator-actions chain with who, over which channel and why.
    rows = bot.facade.operator_actions(20)
    assert [r["action"] for r in reversed(rows)] == [
        "pause", "resume", "stop_entries", "allow_entries", "force_exit", "emergency_stop",
    ]  # fmt: skip
    assert {r["actor"] for r in rows} == {"token:trade-holder"}
    assert {r["channel"] for r in rows} == {"api"}
    assert json.loads(rows[0]["detail"])["reason"] == "bar 3560"
    assert verify_chain(bot.database.engine, AUDIT_KEY).ok


def test_reads_answer_from_the_node_and_the_database(bot: Bot) -> None:
    bot.run()
    app = build_app(bot.facade)
    with TestClient(app) as client:
        read = _auth(bot.tokens["read"])
        get = {p: client.get(f"/api/v1/{p}", headers=read) for p in
               ("status", "balances", "positions", "orders", "trades", "profit", "performance",
                "risk", "logs", "actions")}  # fmt: skip
        assert {p: r.status_code for p, r in get.items()} == dict.fromkeys(get, 200)
        status = get["status"].json()
        assert status["bot"] == "ops-test"
        assert status["engine_time"] == bot.node.now
        assert Decimal(status["equity"]) == bot.node.account.equity()
        assert get["balances"].json()["USDT"] == str(bot.node.account.balances()["USDT"])
        fills = get["trades"].json()
        assert len(fills) == 50
        assert fills[0]["symbol"] == SYMBOL
        profit = get["profit"].json()
        closed = bot.node.portfolio.trades
        assert profit["all"]["trades"] == len(closed) > 10
        assert Decimal(profit["all"]["pnl"]) == sum((t.pnl for t in closed), Decimal(0))
        assert profit["day"]["trades"] <= profit["week"]["trades"] <= profit["all"]["trades"]
        [perf] = get["performance"].json()
        assert perf["trades"] == len(closed)
        assert get["risk"].json()["state"] == "ACTIVE"
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["ok"] is True


def test_every_endpoint_but_health_and_schema_needs_a_token_and_the_right_scope(bot: Bot) -> None:
    app = build_app(bot.facade, limiter=LoginLimiter(max_failures=1000))
    with TestClient(app) as client:
        schema = client.get("/openapi.json")
        assert schema.status_code == 200
        assert client.get("/health").status_code == 200
        paths = schema.json()["paths"]
        assert len(paths) >= 18
        for path, methods in paths.items():
            if path == "/health":
                continue
            concrete = path.replace("{symbol}", "BTC-USDT")
            for method in methods:
                r = client.request(method, concrete, json={"reason": "x"})
                assert r.status_code == 401, (method, path, r.status_code)
                assert r.headers["www-authenticate"] == "Bearer"
                bad = client.request(method, concrete, json={"reason": "x"},
                                     headers=_auth("not-a-token-at-all"))  # fmt: skip
                assert bad.status_code == 401, (method, path)
        # A read token cannot act; the trade token can.
        read = _auth(bot.tokens["read"])
        assert client.post("/api/v1/pause", headers=read, json={"reason": "x"}).status_code == 403
        assert bot.node.paused == ""
        trade = _auth(bot.tokens["trade"])
        assert client.get("/metrics", headers=read).status_code == 200
        r = client.post("/api/v1/pause", headers=trade, json={"reason": "maintenance"})
        assert r.status_code == 200
        assert bot.node.paused == "maintenance"
        # A symbol the bot does not trade is a 404 naming it, recorded as refused.
        r = client.post(
            "/api/v1/symbols/ETH-USDT/stop-entries", headers=trade, json={"reason": "x"}
        )
        assert r.status_code == 404
        assert "does not trade 'ETH-USDT'" in r.json()["detail"]
        assert bot.facade.operator_actions(1)[0]["outcome"].startswith("refused:")


def test_expired_and_revoked_tokens_are_refused(bot: Bot) -> None:
    from datetime import timedelta

    from tradewind.persistence.api_tokens import issue_token, revoke_token

    engine = bot.database.engine
    expired = issue_token(engine, name="old", scopes=["read"], ttl=timedelta(seconds=-1))
    revoked = issue_token(engine, name="gone", scopes=["read"])
    assert revoke_token(engine, "gone") == 1
    with TestClient(build_app(bot.facade)) as client:
        for token in (expired, revoked):
            assert client.get("/api/v1/status", headers=_auth(token)).status_code == 401
    # Only a digest is stored: the plain token is nowhere in the database file.
    raw = (bot.database.engine.url.database or "").encode()
    assert raw
    with open(raw.decode(), "rb") as handle:
        content = handle.read()
    for token in (*bot.tokens.values(), expired, revoked):
        assert token.encode() not in content


def test_failed_logins_are_rate_limited_per_address(bot: Bot) -> None:
    app = build_app(bot.facade, limiter=LoginLimiter(max_failures=3, window_s=60))
    good = _auth(bot.tokens["read"])
    with TestClient(app) as client:
        assert client.get("/api/v1/status", headers=good).status_code == 200
        codes = [client.get("/api/v1/status", headers=_auth(f"wrong-{n}")).status_code
                 for n in range(4)]  # fmt: skip
        assert codes == [401, 401, 401, 429]
        # Blocked means blocked: even the right token waits out the window.
        assert client.get("/api/v1/status", headers=good).status_code == 429


@pytest.mark.parametrize("scope", ["trade", "admin"])
def test_higher_scopes_include_reading(bot: Bot, scope: str) -> None:
    with TestClient(build_app(bot.facade)) as client:
        r = client.get("/api/v1/status", headers=_auth(bot.tokens[scope]))
        assert r.status_code == 200


def test_while_paused_a_protective_stop_still_reaches_the_venue(
    minutes: pd.DataFrame, tmp_path: Path
) -> None:
    bot = make_bot(minutes, tmp_path, stop_pct=0.002)
    paused_at: list[int] = []
    with TestClient(build_app(bot.facade)) as client:

        def operator(i: int, ctx: object) -> None:
            if not paused_at and i > 1000 and bot.node.account.open_positions():
                r = client.post("/api/v1/pause", headers=_auth(bot.tokens["trade"]),
                                json={"reason": "hold entries"})  # fmt: skip
                assert r.status_code == 200
                paused_at.append(i)

        bot.strategy.operator = operator
        bot.run()
    [bar] = paused_at
    after = [(ts, o) for kind, ts, o in bot.port.requests
             if kind == "submit" and ts >= bot.bar_close(bar)]  # fmt: skip
    assert after, "something reached the venue after the pause"
    assert all(o.reduce_only for _, o in after)  # no entry for the rest of the run
    stops = [o for _, o in after if o.tag == "stop"]
    assert stops, [o.tag for _, o in after]
    # The stop fired: it filled at the venue and the position is closed; entries were denied.
    assert [bot.node.orders[o.client_id].status.value for o in stops] == ["filled"]
    assert bot.node.account.open_positions() == []
    assert [d.code for d in bot.node.denials].count("control.paused") > 10
