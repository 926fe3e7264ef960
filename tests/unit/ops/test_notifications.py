"""Notifications through real apprise to loopback receivers (a JSON and a form webhook, and mail
through an aiosmtpd server), from a bot trading the real BTC minutes on the simulated venue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from ops_bot import Bot, make_bot
from receivers import Mailbox, Webhook, free_port

from tradewind.config import NotificationsConfig, load_config
from tradewind.core.errors import ConfigError, UserError
from tradewind.core.market_events import AlertKind, StreamAlert, StreamState
from tradewind.ops.anomaly import AnomalyAlerts
from tradewind.ops.events import EventHub
from tradewind.ops.facade import Actor
from tradewind.ops.notifications import Notifier
from tradewind.ops.notify_templates import money
from tradewind.persistence import queries
from tradewind.risk.config import BreakerConfig

DAY = 86_400_000
TOKEN = "tok-9f8e7d6c5b4a3210"  # a secret the JSON webhook's URL carries in a header


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests (inside apprise) honours proxy variables, which would hijack loopback.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def hook() -> Iterator[Webhook]:
    server = Webhook().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    server = Mailbox().start()
    yield server
    server.stop()


def _json(hook: Webhook) -> str:
    return f"json://127.0.0.1:{hook.port}/hooks/json?+X-Token={TOKEN}"


def _config(*urls: str, **settings: object) -> NotificationsConfig:
    return NotificationsConfig.model_validate({"urls": list(urls), **settings})


def _wired(bot: Bot, config: NotificationsConfig) -> Notifier:
    """The notifier on ``bot``, ticked at each bar's close as the runtime's clock would."""
    notifier = Notifier(config, facade=bot.facade)
    notifier.attach(bot.node, bot.facade.events)
    bot.strategy.operator = lambda i, ctx: notifier.tick(bot.bar_close(i))
    notifier.open()
    return notifier


def _db_round_trips(bot: Bot) -> list[tuple[datetime, Decimal]]:
    """(exit time, PnL) of each round trip, paired from the fills in the bot's database."""
    rows = sorted(
        queries.trades(bot.database.engine, bot.database.bot_id, limit=1000),
        key=lambda r: r["time"],
    )
    assert {r["fee_currency"] for r in rows} == {"USDT"}
    trips = []
    for buy, sell in zip(rows[::2], rows[1::2], strict=False):
        assert (buy["side"], sell["side"]) == ("buy", "sell")
        assert buy["quantity"] == sell["quantity"]
        pnl = (sell["price"] - buy["price"]) * sell["quantity"] - buy["fee"] - sell["fee"]
        trips.append((sell["time"], pnl))
    return trips


def test_a_trading_run_is_told_over_json_form_and_mail(
    bot: Bot, hook: Webhook, mailbox: Mailbox
) -> None:
    config = _config(_json(hook), f"form://127.0.0.1:{hook.port}/hooks/form", max_per_minute=1000)
    notifier = _wired(bot, config)
    # The reports also go by mail (apprise opens one SMTP session per mail: ~0.2 s each here).
    mail_config = _config(
        f"mailto://127.0.0.1:{mailbox.port}?from=bot@example.com&to=ops@example.com",
        events=["daily_report", "weekly_report"],
    )
    by_mail = Notifier(mail_config, facade=bot.facade)
    by_mail.attach(bot.node)
    by_mail.open()
    at_report: dict[int, dict[str, dict[str, object]]] = {}

    def operator(i: int, ctx: object) -> None:
        notifier.tick(bot.bar_close(i))
        by_mail.tick(bot.bar_close(i))
        if bot.bar_close(i) % DAY == 8 * 3_600_000:
            at_report[bot.bar_close(i)] = bot.facade.profit()

    bot.strategy.operator = operator
    bot.run()
    notifier.tick(bot.bar_close(len(bot.bars) - 1))
    assert notifier.close(60)
    assert by_mail.close(60)

    trades = bot.node.portfolio.trades
    entries = [o for o in bot.node.orders.values() if not o.reduce_only and o.filled_quantity]
    reports = 4 + 1  # 08:00 on 1, 2, 3 and 4 January 2022, and Monday 3 January's summary
    total = len(entries) + len(trades) + reports
    assert len(trades) >= 40
    assert notifier.stats["sent"] == 2 * total
    assert notifier.stats["failed"] == 0
    assert notifier.stats["held"] == 0
    got = hook.wait_for(2 * total)
    as_json = [r for r in got if r.path == "/hooks/json"]
    as_form = [r for r in got if r.path == "/hooks/form"]
    mails = mailbox.wait_for(reports)
    assert len(as_json) == len(as_form) == total
    assert all(r.headers["X-Token"] == TOKEN for r in as_json)
    assert [(r.title, r.message) for r in as_json] == [(r.title, r.message) for r in as_form]
    told = [r for r in as_json if r.title.startswith(("Daily", "Weekly"))]
    assert [(m.subject, m.body.replace("\r\n", "\n").strip()) for m in mails] == [
        (r.title, r.message) for r in told
    ]
    assert mails[0].sender == "bot@example.com"
    assert mails[0].recipients == ["ops@example.com"]

    # The first entry: what the venue filled, as a trader reads it.
    first = entries[0]
    fill = first.fills[0]
    entry = as_json[0]
    assert entry.title == f"Entry long BTC/USDT at {fill.price:,f}"
    assert f"Bought {fill.quantity.normalize():f} BTC/USDT at {fill.price:,f} (market)" in (
        entry.message
    )
    assert f"Notional {money(fill.price * fill.quantity, 'USDT')}, fee " in entry.message
    assert entry.fields["type"] == "info"
    # Every exit, with its PnL to the cent, in the order the trades closed.
    exits = [r for r in as_json if r.title.startswith("Exit BTC/USDT long: ")]
    assert [r.title for r in exits] == [
        f"Exit BTC/USDT long: {money(t.pnl, 'USDT', signed=True)}" for t in trades
    ]
    assert as_form[as_json.index(exits[0])].message.startswith(
        f"Closed long {trades[0].quantity.normalize():f} BTC/USDT: entry {trades[0].entry_price:,f}"
    )

    # The daily reports say what the facade says at 08:00 and what the database's fills add up to.
    daily = [r for r in as_json if r.title.startswith("Daily report")]
    assert [r.title[13:23] for r in daily] == [
        "2022-01-01", "2022-01-02", "2022-01-03", "2022-01-04",
    ]  # fmt: skip
    assert sorted(at_report) == [_ms(f"2022-01-0{d}T08:00") for d in (1, 2, 3, 4)]
    trips = _db_round_trips(bot)
    for report, (due, profit) in zip(daily, sorted(at_report.items()), strict=True):
        day = profit["day"]
        pnl = Decimal(str(day["pnl"]))
        assert report.title.endswith(money(pnl, "USDT", signed=True))
        assert f"Closed trades: {day['trades']} ({day['wins']} won" in report.message
        fees = money(Decimal(str(day["fees"])), "USDT")
        assert f"PnL: {money(pnl, 'USDT', signed=True)} after {fees} fees" in report.message
        start, end = (datetime.fromtimestamp(t / 1000, UTC) for t in (due - DAY, due))
        from_db = sum((p for at, p in trips if start < at <= end), Decimal(0))
        assert money(from_db, signed=True) == money(pnl, signed=True)
    weekly = hook.titled("Weekly summary")
    assert [r.title[:41] for r in weekly] == ["Weekly summary 2021-12-27 to 2022-01-03: "] * 2
    week = [t for t in trades if t.exit_ts <= _ms("2022-01-03T08:00")]
    assert weekly[0].title.endswith(
        money(sum((t.pnl for t in week), Decimal(0)), "USDT", signed=True)
    )
    assert "  to Sat 2022-01-01: " in weekly[0].message


def test_stops_take_profits_breakers_faults_operators_and_errors(
    minutes: pd.DataFrame, tmp_path: Path, hook: Webhook
) -> None:
    bot = make_bot(
        minutes, tmp_path, stop_pct=0.003, take_profit_pct=0.004,
        breakers=BreakerConfig(max_consecutive_losses=2, loss_cooldown_bars=120),
    )  # fmt: skip
    config = _config(_json(hook), max_per_minute=1000, events=[
        "stop", "take_profit", "breaker", "error", "operator", "denied",
    ])  # fmt: skip
    notifier = _wired(bot, config)
    logging.getLogger("tradewind").addHandler(handler := notifier.log_handler())
    tick = bot.strategy.operator
    assert tick is not None

    def operator(i: int, ctx: object) -> None:
        tick(i, ctx)  # type: ignore[arg-type]
        if i == 4000:
            bot.facade.pause(Actor("alice", "api"), "news at 14:00")
            logging.getLogger("tradewind.venues").error("order book of BTC/USDT is crossed")
        if i == 4500:
            raise ZeroDivisionError("division by zero in the signal")

    bot.strategy.operator = operator
    try:
        bot.run()
    finally:
        logging.getLogger("tradewind").removeHandler(handler)
    notifier.tick(bot.bar_close(len(bot.bars) - 1))
    assert notifier.close(30)
    got = hook.wait_for(notifier.stats["sent"])

    heading = {"stop": "Stop hit", "take_profit": "Take-profit hit"}
    protective = [t for t in bot.node.portfolio.trades if t.reason in heading]
    told = [r for r in got if r.title.startswith(("Stop hit", "Take-profit hit"))]
    assert sum(t.reason == "stop" for t in protective) >= 5
    assert sum(t.reason == "take_profit" for t in protective) >= 5
    assert [r.title for r in told] == [
        f"{heading[t.reason]} BTC/USDT long: {money(t.pnl, 'USDT', signed=True)}"
        for t in protective
    ]
    assert [r.fields["type"] for r in told] == [
        "success" if t.pnl > 0 else "warning" for t in protective
    ]
    first_profit = next(r for r in told if r.title.startswith("Take-profit"))
    assert "reason: take_profit" in first_profit.message
    board = bot.node.observer.board  # type: ignore[union-attr]
    trips = [e for e in board.events if e.state.value == "reducing"]
    tripped = hook.titled("Breaker tripped: consecutive_losses:every_fifty -> REDUCING")
    assert len(trips) >= 1
    assert len(tripped) == len(trips)
    assert tripped[0].message.startswith("2 losing trades in a row for every_fifty")
    assert len(hook.titled("Breaker lifted: consecutive_losses:every_fifty")) >= 1
    denials = hook.titled("Denied: enter long BTC/USDT")
    assert len(bot.node.denials) >= 5
    assert len(denials) == len(bot.node.denials)  # each 100 bars apart: none is a duplicate
    assert all(d.reason in r.message for d, r in zip(bot.node.denials, denials, strict=True))
    assert "breakers are reducing (consecutive_losses:every_fifty)" in denials[0].message
    paused = hook.titled("Operator: pause")
    assert len(paused) == 1
    assert "By alice over api" in paused[0].message
    assert "Reason: news at 14:00" in paused[0].message
    logged = hook.titled("Error in tradewind.venues")
    assert len(logged) == 1
    assert "order book of BTC/USDT is crossed" in logged[0].message
    faulted = hook.titled("Strategy fault: every_fifty")
    assert len(faulted) == 1
    assert "ZeroDivisionError: division by zero" in faulted[0].message
    assert faulted[0].fields["type"] == "failure"
    assert not hook.titled("Entry")
    assert not hook.titled("Exit")


def test_weekly_summary_fires_on_its_day_and_daily_at_its_time(bot: Bot, hook: Webhook) -> None:
    config = _config(_json(hook), report_time="07:30", weekly_day="tuesday")
    notifier = Notifier(config, facade=bot.facade)
    notifier.attach(bot.node, bot.facade.events)
    notifier.open()
    start = _ms("2022-01-01T00:00")
    for quarter in range(15 * 96):  # fifteen days, every 15 minutes
        notifier.tick(start + quarter * 900_000)
    assert notifier.close(30)
    got = hook.wait_for(15 + 2)
    daily = [r.title[13:23] for r in got if r.title.startswith("Daily report")]
    assert daily == [f"2022-01-{d:02d}" for d in range(1, 16)]
    assert "the 24 h to 2022-01-01 07:30 UTC" in got[0].message
    weekly = [r.title for r in got if r.title.startswith("Weekly")]
    assert weekly == [
        "Weekly summary 2021-12-28 to 2022-01-04: 0.00 USDT",
        "Weekly summary 2022-01-04 to 2022-01-11: 0.00 USDT",
    ]
    assert len(got) == 17


def test_same_event_is_sent_once_within_the_window(hook: Webhook) -> None:
    notifier = Notifier(_config(_json(hook), dedupe_seconds=300))
    notifier.open()
    t0 = _ms("2022-01-03T10:00")

    def alert(at: int) -> StreamAlert:
        return StreamAlert(
            "BTC/USDT kline 1m", ("BTC/USDT",), AlertKind.DISCONNECTED, StreamState.STALE,
            "connection closed (1006); reconnecting in 1 s", at,
        )  # fmt: skip

    for at in (t0, t0 + 10_000, t0 + 60_000, t0 + 299_000, t0 + 301_000):
        notifier.stream(alert(at))
    notifier.stream(
        StreamAlert("BTC/USDT kline 1m", ("BTC/USDT",), AlertKind.RECONNECTED, StreamState.LIVE,
                    "back after 2 s; 0 bars backfilled", t0 + 302_000)
    )  # fmt: skip
    assert notifier.close(20)
    got = hook.wait_for(3)
    assert [r.title for r in got] == [
        "Stream disconnected: BTC/USDT kline 1m",
        "Stream disconnected: BTC/USDT kline 1m",
        "Stream reconnected: BTC/USDT kline 1m",
    ]
    assert "connection closed (1006)" in got[0].message
    assert got[0].fields["type"] == "warning"
    assert "also 3 more time(s) within 300 s of 2022-01-03 10:00 UTC" in got[1].message
    assert got[2].fields["type"] == "success"
    assert notifier.suppressed == 3


def test_rate_cap_summarises_the_overflow_in_one_message(hook: Webhook) -> None:
    notifier = Notifier(_config(_json(hook), max_per_minute=5))
    notifier.open()
    hub = EventHub()
    notifier.attach(hub=hub)
    detectors = AnomalyAlerts(hub)
    t0 = _ms("2022-01-03T10:00")
    for k in range(12):
        detectors.data_quality(
            t0 + k * 1000, f"gap of {k + 2} bars in BTC/USDT 1m", symbol="BTC/USDT"
        )
    assert len(hook.wait_for(5)) == 5  # the cap's five, sent at once
    notifier.tick(t0 + 59_000)
    assert notifier.sender.wait_idle(10)
    assert len(hook.received) == 5
    notifier.tick(t0 + 60_000)
    assert notifier.close(20)
    got = hook.wait_for(6)
    assert [r.title for r in got[:5]] == ["Anomaly: data quality on BTC/USDT"] * 5
    assert "gap of 2 bars" in got[0].message
    summary = got[5]
    assert summary.title == "7 more notification(s) held back by the rate cap"
    assert summary.message.splitlines()[0] == (
        "7 notification(s) over the cap of 5 a minute, from 2022-01-03 10:00 UTC: 7 anomaly"
    )
    assert summary.message.count("- Anomaly: data quality on BTC/USDT") == 7
    assert len(got) == 6
    assert notifier.held == 7
    assert notifier.summaries == 1


def test_sending_never_blocks_the_trading_loop(
    bot: Bot, hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    dead = free_port()  # nobody listens there: every send to it fails
    config = _config(_json(hook), f"json://127.0.0.1:{dead}/x?+X-Token={TOKEN}",
                     max_per_minute=1000, events=["entry", "exit"])  # fmt: skip
    hook.hold.clear()  # the live webhook takes the first request and does not answer
    notifier = _wired(bot, config)
    caplog.set_level(logging.DEBUG)
    with hook.arrived:
        bot.run()  # the whole run, while the sender is stuck on its first message
        assert hook.arrived.wait(20)
    assert not hook.received
    assert notifier.sender.pending > 1
    told = len(bot.node.portfolio.trades) + sum(
        1 for o in bot.node.orders.values() if not o.reduce_only and o.filled_quantity
    )
    hook.hold.set()
    assert notifier.close(120)
    assert len(hook.wait_for(told)) == told
    assert notifier.stats["sent"] == told
    assert notifier.stats["failed"] == told
    warned = [
        r.getMessage() for r in caplog.records if "not delivered by service 2" in r.getMessage()
    ]
    assert len(warned) == told
    assert "(json://...)" in warned[0]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_start_and_stop_on_the_loop_with_the_bots_clock(bot: Bot, hook: Webhook) -> None:
    clock = [_ms("2022-01-03T07:59")]
    notifier = Notifier(_config(_json(hook)), facade=bot.facade, now=lambda: clock[0])
    notifier.attach(bot.node, bot.facade.events)
    await notifier.start(interval_s=0.01)
    await asyncio.sleep(0.05)
    clock[0] = _ms("2022-01-03T08:00")  # the bot's clock reaches the report time
    for _ in range(1000):
        if hook.received:
            break
        await asyncio.sleep(0.01)
    assert await notifier.stop()
    titles = [r.title for r in hook.received]
    assert titles == [
        "Daily report 2022-01-03: 0.00 USDT", "Weekly summary 2021-12-27 to 2022-01-03: 0.00 USDT",
    ]  # fmt: skip


def test_config_table_and_its_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "tradewind.toml"
    path.write_text(
        '[notifications]\nurls = ["json://127.0.0.1:9/x?+X-Token=' + TOKEN + '"]\n'
        'events = ["entry", "exit", "daily_report"]\nreport_time = "7:05"\nweekly_day = "Friday"\n'
    )
    config = load_config(path, env={}).notifications
    assert config.enabled
    assert config.report_time == "07:05"
    assert config.weekly_day == "friday"
    assert TOKEN not in repr(config)
    assert not load_config(None, env={}).notifications.enabled
    with pytest.raises(
        ConfigError, match=r"'notifications.events' .* 'exitt' \(did you mean 'exit'"
    ):
        load_config(None, env={"TRADEWIND__NOTIFICATIONS__EVENTS": "entry,exitt"})
    with pytest.raises(ConfigError, match=r"entry 2 is not a URL") as caught:
        load_config(None, env={"TRADEWIND__NOTIFICATIONS__URLS": f"json://h/x {TOKEN}"})
    assert TOKEN not in str(caught.value)
    with pytest.raises(
        UserError, match=r"entry 1 \(nosuchservice://...\) is not a URL apprise"
    ) as c2:
        Notifier(_config(f"nosuchservice://{TOKEN}@host"))
    assert TOKEN not in str(c2.value)
