"""The dashboard's login, sessions and reads without a browser (FastAPI's TestClient): a login
swaps a token for an HttpOnly, SameSite=Strict cookie and a CSRF token; revoking the token ends
its sessions; bad logins are refused and rate-limited; the reads the dashboard adds (equity curve,
marked positions, strategies, execution costs, stored runs and their reports) answer from the
Node and the bot's database."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from ops_bot import SYMBOL, Bot, make_bot

from tradewind.backtest import backtest
from tradewind.backtest.results import orders_tca
from tradewind.cli.run_registry import run_record
from tradewind.core.algo_spec import parse_algo
from tradewind.ops.api import LoginLimiter, build_app
from tradewind.ops.views import ExecutionCosts
from tradewind.ops.web.routes import PLOTLY_JS
from tradewind.persistence.api_tokens import revoke_token
from tradewind.persistence.execution import ExecutionStore
from tradewind.persistence.runs import record_run
from tradewind.session.execution_recorder import ExecutionRecorder


def _login(client: TestClient, token: str) -> str:
    answer = client.post("/dashboard/login", json={"token": token})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf"])


def test_a_login_is_an_httponly_strict_cookie_and_revoking_the_token_ends_it(bot: Bot) -> None:
    with TestClient(build_app(bot.facade)) as client:
        answer = client.post("/dashboard/login", json={"token": bot.tokens["trade"]})
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("tradewind_session_ops-test=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert bot.tokens["trade"] not in cookie  # the cookie is a session, not the token
        assert answer.json()["scopes"] == ["trade"]
        csrf = answer.json()["csrf"]
        assert client.get("/api/v1/status").status_code == 200
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "SAMEORIGIN"
        assert client.get("/dashboard/session").json()["csrf"] == csrf

        assert revoke_token(bot.database.engine, "trade-holder") == 1
        assert client.get("/api/v1/status").status_code == 401
        assert (
            client.post(
                "/api/v1/pause", json={"reason": "after revoke"}, headers={"X-CSRF-Token": csrf}
            ).status_code
            == 401
        )
        assert client.get("/dashboard", follow_redirects=False).headers["location"] == (
            "/dashboard/login"
        )
        assert bot.node.paused == ""


def test_bad_logins_are_refused_and_counted(bot: Bot) -> None:
    app = build_app(bot.facade, limiter=LoginLimiter(max_failures=3, window_s=60))
    with TestClient(app) as client:
        form = client.post("/dashboard/login", data={"token": bot.tokens["read"]})
        assert form.status_code == 415  # only JSON: a cross-site form cannot log anyone in
        assert client.post("/dashboard/login", json={"nope": 1}).status_code == 422
        for _ in range(3):
            assert client.post("/dashboard/login", json={"token": "x" * 43}).status_code == 401
        refused = client.post("/dashboard/login", json={"token": bot.tokens["read"]})
        assert refused.status_code == 429
        assert "set-cookie" not in refused.headers


def test_a_read_only_login_cannot_act_and_logging_out_ends_the_session(bot: Bot) -> None:
    with TestClient(build_app(bot.facade)) as client:
        csrf = _login(client, bot.tokens["read"])
        denied = client.post("/api/v1/pause", json={"reason": "r"}, headers={"X-CSRF-Token": csrf})
        assert denied.status_code == 403
        assert "'trade' scope" in denied.json()["detail"]
        assert client.post("/dashboard/logout").status_code == 403  # logout needs CSRF too
        assert client.post("/dashboard/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert client.get("/api/v1/status").status_code == 401
        assert bot.node.paused == ""


def test_assets_are_local_and_only_the_named_ones(bot: Bot) -> None:
    with TestClient(build_app(bot.facade)) as client:
        login = client.get("/dashboard/login")
        assert login.status_code == 200
        for page in (login.text, client.get("/dashboard/static/app.js").text):
            assert "http://" not in page
            assert "https://" not in page  # no CDN, no font or script from elsewhere
        script = client.get("/dashboard/static/plotly.min.js")
        assert script.status_code == 200
        assert len(script.content) == PLOTLY_JS.stat().st_size
        assert client.get("/dashboard/static/..%2Fapi.py").status_code == 404
        assert client.get("/dashboard/static/index.html").status_code == 404
        # The dashboard's routes are not API operations.
        paths = client.get("/openapi.json").json()["paths"]
        assert not [p for p in paths if p.startswith("/dashboard")]


def test_the_dashboard_reads_answer_from_the_node(bot: Bot) -> None:
    bot.run()
    node = bot.node
    with TestClient(build_app(bot.facade)) as client:
        _login(client, bot.tokens["read"])
        equity = client.get("/api/v1/equity").json()
        assert equity["currency"] == "USDT"
        assert equity["bars"] == len(bot.bars)
        assert len(equity["points"]) == 2000  # thinned evenly, the first and last kept
        assert equity["points"][0] == [bot.bar_close(0), 10_000.0]
        assert equity["points"][-1][0] == node.now
        assert equity["points"][-1][1] == pytest.approx(float(node.account.equity()), abs=1e-6)
        assert client.get("/api/v1/equity?points=1").status_code == 422

        [strategy] = client.get("/api/v1/strategies").json()
        assert strategy["id"] == "every_fifty"
        assert strategy["symbol"] == SYMBOL
        assert strategy["timeframe"] == "1m"
        assert strategy["params"] == [
            {"name": "every", "value": 50, "default": 50, "low": 10, "high": 500, "doc": ""}
        ]

        costs = client.get("/api/v1/costs").json()
        filled = [o for o in node.orders.values() if o.fills]
        assert costs["orders_measured"] == len(filled) > 50
        [row] = costs["by_strategy"]
        assert row["count"] == len(filled)
        assert row["fee_bps"] == pytest.approx(10.0)  # the simulated venue's 0.1% taker fee
        paid = sum((f.fee for o in filled for f in o.fills), Decimal(0))
        assert Decimal(costs["fees_paid"]["USDT"]) == paid
        assert row["fees_quote"] == pytest.approx(float(paid))


def test_positions_are_marked_at_the_last_complete_close(bot: Bot) -> None:
    held: list[dict[str, str]] = []

    def operator(i: int, ctx: object) -> None:
        if i == 1020:
            held.extend(bot.facade.positions())
            held.append({"mark": str(bot.bars.price(1020))})  # bar 1020 has just closed

    bot.strategy.operator = operator
    bot.run()
    position, mark = held
    assert Decimal(position["mark_price"]) == Decimal(mark["mark"])
    assert Decimal(position["unrealized_pnl"]) == (
        Decimal(mark["mark"]) - Decimal(position["average_price"])
    ) * Decimal(position["quantity"])
    assert position["side"] == "long"


def test_stored_runs_and_their_reports(bot: Bot, minutes: pd.DataFrame) -> None:
    result = backtest(
        "sma_cross", minutes.set_index("date"), {"fast": 10, "slow": 40}, fee=0.001, symbol=SYMBOL
    )
    run_id = record_run(bot.database.engine, run_record(result, "sma_cross"), bot.database.bot_id)
    with TestClient(build_app(bot.facade)) as client:
        bearer = {"Authorization": f"Bearer {bot.tokens['read']}"}
        [listed] = client.get("/api/v1/runs", headers=bearer).json()
        assert listed["run"] == run_id
        assert listed["total_return"] == pytest.approx(result.metrics["total_return"])
        detail = client.get(f"/api/v1/runs/{run_id}", headers=bearer).json()
        assert detail["parameters"]["fast"] == 10
        assert len(detail["trades"]) == len(result.trades)
        assert sum(Decimal(t["pnl"]) for t in detail["trades"]) == pytest.approx(
            Decimal(str(result.trades["pnl"].sum())), abs=Decimal("0.01")
        )
        assert client.get("/api/v1/runs/999", headers=bearer).status_code == 404
        assert client.get("/api/v1/runs?kind=nope", headers=bearer).status_code == 422

        assert client.get(f"/dashboard/runs/{run_id}/report").status_code == 401
        _login(client, bot.tokens["read"])
        report = client.get(f"/dashboard/runs/{run_id}/report")
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'self'" in report.headers["content-security-policy"]
        text = report.text
        assert "<h1>Backtest 1: sma_cross</h1>" in text
        assert "fast=10" in text
        assert "Sharpe" in text
        assert "<script src='/dashboard/static/plotly.min.js'></script>" in text
        assert "nan" not in text.lower().replace("nanoseconds", "")


def test_execution_costs_are_measured_a_bounded_batch_at_a_time_as_the_backtest_measures_them(
    bot: Bot,
) -> None:
    bot.run()
    filled = [o for o in bot.node.orders.values() if o.fills and not o.is_open]
    costs = ExecutionCosts(bot.node)
    assert costs.update(budget=10) == len(filled) - 10
    assert len(costs.book.records) == 10
    assert costs.update(budget=1000) == 0
    assert costs.update(budget=1000) == 0  # nothing is measured twice
    whole = orders_tca(bot.node, {SYMBOL: bot.bars}, bot.node.instruments)
    assert costs.book.aggregate("strategy_id") == whole.aggregate("strategy_id")
    assert [r.execution_id for r in costs.book.records] == [r.execution_id for r in whole.records]


def test_execution_costs_measure_parent_orders_and_label_their_children(
    minutes: pd.DataFrame, tmp_path: Path
) -> None:
    bot = make_bot(minutes, tmp_path, execution=parse_algo("twap:horizon=5m,slices=5"))
    bot.run()
    costs = ExecutionCosts(bot.node)
    assert costs.update(budget=1000) == 0
    whole = orders_tca(bot.node, {SYMBOL: bot.bars}, bot.node.instruments)
    ended = {p.parent_id for p in bot.node.desk.ended()}
    assert ended
    parents = [r for r in costs.book.records if r.kind == "parent"]
    assert {r.execution_id for r in parents} == ended
    assert {r.algo for r in costs.book.records} == {"twap", "twap.child"}
    measured = {r.execution_id: r for r in costs.book.records}
    for record in whole.records:  # the same cost as the backtest's measure, for each one done
        if record.execution_id in measured:
            assert measured[record.execution_id] == record
    summary = costs.summary()
    assert {row["algo"] for row in summary["by_order_type"]} == {"twap", "twap.child"}


def test_parents_and_costs_are_stored_and_read_back_through_the_api(
    minutes: pd.DataFrame, tmp_path: Path
) -> None:
    bot = make_bot(minutes, tmp_path, execution=parse_algo("twap:horizon=5m,slices=5"))
    store = ExecutionStore(bot.database.engine, bot.database.bot_id)
    recorder = ExecutionRecorder(store, bot.node)
    recorder.attach(bot.node.bus)
    bot.run()
    stored = recorder.record_costs()
    assert recorder.record_costs() == 0  # each execution once
    node = bot.node
    parents = node.desk.parents()
    done = [o for o in node.orders.values() if o.fills and not o.is_open]
    assert stored == len(done) + len(node.desk.ended()) > 20
    with TestClient(build_app(bot.facade)) as client:
        _login(client, bot.tokens["read"])
        rows = {r["parent_id"]: r for r in client.get("/api/v1/parents").json()}
        assert set(rows) == {p.parent_id for p in parents}
        for parent in parents:  # the row written ahead is the parent as it ended
            row = rows[parent.parent_id]
            assert (row["status"], row["children"], Decimal(row["filled"])) == (
                parent.status.value, len(parent.children), parent.filled_quantity)  # fmt: skip
        working = client.get("/api/v1/parents?working=true").json()
        assert [r["parent_id"] for r in working] == [p.parent_id for p in node.desk.working]
        summary = client.get("/api/v1/costs/stored").json()
    assert summary["records"] == stored
    by_algo = {row["algo"]: row for row in summary["by_algo"]}
    assert set(by_algo) == {"twap", "twap.child"}
    assert by_algo["twap"]["count"] == len(node.desk.ended())
    live = ExecutionCosts(node)
    live.update(budget=10_000)
    # The stored aggregate is the in-memory one: the same records, measured the same way.
    for mine, theirs in zip(summary["by_algo"], live.book.aggregate("algo"), strict=True):
        assert mine == pytest.approx(theirs)
    assert [row["venue"] for row in summary["by_venue"]] == ["sim"]
    # Each parent row carries its fill and, once it ended, its own measured cost.
    measured = {r.execution_id: r for r in live.book.records if r.kind == "parent"}
    for parent in parents:
        row = rows[parent.parent_id]
        assert row["fill_pct"] == pytest.approx(
            float(parent.filled_quantity / parent.quantity * 100)
        )
        cost = measured.get(parent.parent_id)
        if cost is None:
            assert parent.is_working
            assert row["shortfall_bps"] is None
        else:
            assert row["shortfall_bps"] == pytest.approx(cost.shortfall_bps)
            assert row["total_cost_bps"] == pytest.approx(cost.total_cost_bps)
