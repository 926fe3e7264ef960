"""The web dashboard in a real browser (Debian's chromium, driven by playwright) against a bot
trading the real BTC minutes on the simulated venue, served by the operator API's own app.

The operator acts between bars: the strategy's hook hands the bar to a function that drives the
browser while the trading thread waits (the API runs on its own thread), as a person clicking
while the bot runs. Each page is closed before the bot trades on, so the page's polling never reads
the Node while it moves.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from ops_bot import SYMBOL, Bot, make_bot
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tradewind.backtest import backtest
from tradewind.cli.run_registry import run_record
from tradewind.ops.api import build_app
from tradewind.ops.server import ThreadedServer
from tradewind.persistence.runs import record_run
from tradewind.risk.config import BreakerConfig

CHROMIUM = os.environ.get("TRADEWIND_CHROMIUM", "/usr/bin/chromium")
# Chromium resolves nothing but the loopback (it would otherwise probe Google's hosts).
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
        "--disable-gpu"]  # fmt: skip
ARTIFACTS = Path(
    os.environ.get(
        "TRADEWIND_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / "test-artifacts"
    )
)
# Every text node outside <script> and <style>: what a reader can see, chart labels included.
VISIBLE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentNode.nodeName;
    if (parent !== 'SCRIPT' && parent !== 'STYLE') { out.push(walker.currentNode.textContent); }
  }
  return out.join('\\n');
}"""
ROWS = """(id) => Array.from(document.querySelectorAll('#' + id + ' tbody tr')).map(
    r => ({key: r.dataset.key, cells: Array.from(r.cells).map(c => c.textContent),
           values: Array.from(r.cells).map(c => c.dataset.value ?? null)}))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


def _record_a_run(bot: Bot, minutes: pd.DataFrame) -> int:
    """A backtest of the SMA cross on the same real minutes, stored in the bot's database."""
    frame = minutes.set_index("date")
    result = backtest("sma_cross", frame, {"fast": 10, "slow": 40}, fee=0.001, symbol=SYMBOL)
    return record_run(bot.database.engine, run_record(result, "sma_cross"), bot.database.bot_id)


class Operator:
    """A person at the dashboard: one browser context (its cookie jar), one page at a time."""

    def __init__(self, context: BrowserContext, url: str) -> None:
        self.context = context
        self.url = url
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        self.urls: list[str] = []

    def open(self) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

        def only_the_bot(route: Any) -> None:
            self.urls.append(route.request.url)
            if route.request.url.startswith(self.url):
                route.continue_()
            else:
                self.elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_bot)
        return page

    def close(self, page: Page) -> None:
        page.close()
        # A barrier: the API answers this only after any request the page had in flight.
        assert httpx.get(f"{self.url}/health").status_code in (200, 503)


def _until(page: Page, expression: str, timeout_s: float = 15.0) -> Any:
    """Poll ``expression`` until it is truthy (the page's Content-Security-Policy forbids the
    string evaluation that ``wait_for_function`` does inside the page)."""
    deadline = time.monotonic() + timeout_s
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)
    return value


def _state(page: Page, state: str) -> None:
    _until(page, f"document.getElementById('state').textContent === '{state}'")


def _refreshed(page: Page, after: int = 0) -> int:
    return int(_until(page, f"Number(document.body.dataset.refreshes || 0) > {after} && "
                            "Number(document.body.dataset.refreshes)"))  # fmt: skip


def _api(url: str, token: str, path: str) -> Any:
    answer = httpx.get(f"{url}/api/v1/{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("+", ""))


def _check_numbers_equal_the_api(page: Page, url: str, token: str, run_id: int) -> None:
    status = _api(url, token, "status")
    positions = _api(url, token, "positions")
    orders = _api(url, token, "orders")
    trades = _api(url, token, "trades?limit=50")
    profit = _api(url, token, "profit")
    equity = _api(url, token, "equity")
    strategies = _api(url, token, "strategies")
    costs = _api(url, token, "costs")
    runs = _api(url, token, "runs")
    risk = _api(url, token, "risk")
    assert positions, "the bot holds a position at this bar"
    assert len(trades) >= 10

    # Headline: exact values behind the text, and the text is that value written for people.
    shown = page.locator("#equity-value")
    assert shown.get_attribute("data-value") == status["equity"]
    assert abs(_money(shown.inner_text()) - Decimal(status["equity"])) <= Decimal("0.005")
    assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", shown.inner_text())
    assert page.locator("#pnl-all").get_attribute("data-value") == profit["all"]["pnl"]
    assert page.locator("#open-orders-count").inner_text() == str(status["open_orders"])
    assert page.locator("#state").inner_text() == "RUNNING"

    # Positions: every API position, exact, with its mark and unrealised PnL.
    rows = page.evaluate(ROWS, "positions")
    assert [r["key"] for r in rows] == [f"{p['strategy']}|{p['symbol']}" for p in positions]
    for row, p in zip(rows, positions, strict=True):
        assert row["values"][3:7] == [p["quantity"], p["average_price"], p["mark_price"],
                                      p["unrealized_pnl"]]  # fmt: skip
        pnl = row["cells"][6]
        assert abs(_money(pnl) - Decimal(p["unrealized_pnl"])) <= Decimal("0.005")
    assert Decimal(positions[0]["unrealized_pnl"]) == (
        Decimal(positions[0]["mark_price"]) - Decimal(positions[0]["average_price"])
    ) * Decimal(positions[0]["quantity"])

    # Orders, fills, costs, strategies, runs, risk: the API's rows in the API's order.
    assert [r["key"] for r in page.evaluate(ROWS, "orders") if r["key"]] == [
        o["client_id"] for o in orders
    ]
    fills = page.evaluate(ROWS, "trades")
    assert [r["key"] for r in fills] == [t["trade_id"] for t in trades]
    assert [r["values"][4:6] for r in fills] == [[t["quantity"], t["price"]] for t in trades]
    # The quantity column lines up: every cell with the decimals of the longest (the API's
    # strings drop trailing zeros, so 0.1051251 came under 0.10415202), and each one exact.
    sizes = [r["cells"][4] for r in fills]
    assert len({len(size.split(".")[1]) for size in sizes}) == 1, sizes
    assert [Decimal(size) for size in sizes] == [Decimal(t["quantity"]) for t in trades]
    by_strategy = page.evaluate(ROWS, "costs-by-strategy")
    assert [r["key"] for r in by_strategy] == [c["strategy_id"] for c in costs["by_strategy"]]
    assert by_strategy[0]["values"][1] == str(costs["by_strategy"][0]["count"])
    assert float(by_strategy[0]["values"][3]) == costs["by_strategy"][0]["fee_bps"]
    # Fees valued in the account currency say so; the line under them gives them as charged.
    heads = page.locator("#costs-by-strategy thead th").all_inner_texts()
    assert heads[-1] == f"Fees paid ({equity['currency']})" == "Fees paid (USDT)"
    params = page.evaluate(ROWS, "strategies")
    assert [r["key"] for r in params] == [s["id"] for s in strategies]
    assert params[0]["cells"][4] == "every = 50 (10..500)"
    stored = page.evaluate(ROWS, "runs")
    assert [r["key"] for r in stored] == [str(r["run"]) for r in runs] == [str(run_id)]
    assert float(stored[0]["values"][6]) == runs[0]["total_return"]
    assert page.locator("#risk-state").inner_text() == risk["state"]
    assert int(page.locator("#equity-chart").get_attribute("data-points") or 0) == len(
        equity["points"]
    )
    assert equity["points"][-1][0] == status["engine_time"]

    # Nothing a trader cannot read: no long float tails, no NaN, no reprs, no exponents.
    text = page.evaluate(VISIBLE_TEXT)
    assert not re.search(r"\d\.\d{9,}", text), re.search(r".{30}\d\.\d{9,}.{10}", text)
    assert not re.search(r"\bnan\b|undefined|\[object", text, re.IGNORECASE)
    assert not re.search(r"\d[eE][+-]\d", text)


def test_the_dashboard_shows_the_api_and_its_controls_act_on_the_venue(
    bot: Bot, minutes: pd.DataFrame, browser: Browser, tmp_path: Path
) -> None:
    run_id = _record_a_run(bot, minutes)
    seen: dict[str, Any] = {}
    with ThreadedServer(build_app(bot.facade)) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        person = Operator(context, server.url)

        def operator(i: int, ctx: object) -> None:
            try:
                act(i)
            except BaseException as exc:  # the strategy host would swallow it as a fault
                seen.setdefault("error", exc)

        def act(i: int) -> None:
            if i == 1020:  # log in, read, compare, pause
                page = person.open()
                page.goto(f"{server.url}/dashboard")
                page.wait_for_url("**/dashboard/login")
                page.fill("#token", bot.tokens["trade"])
                page.click("#login")
                page.wait_for_url("**/dashboard")
                done = _refreshed(page)
                page.wait_for_selector("#equity-chart .main-svg")
                _check_numbers_equal_the_api(page, server.url, bot.tokens["read"], run_id)
                seen["cookies"] = context.cookies()
                seen["document.cookie"] = page.evaluate("document.cookie")
                seen["storage"] = page.evaluate("[localStorage.length, sessionStorage.length]")
                page.click(f"#runs tbody tr[data-key='{run_id}'] button")
                report = page.frame_locator("#run-report")
                report.locator("h1").wait_for()
                seen["report"] = report.locator("body").inner_text()
                report.locator(".js-plotly-plot .main-svg").first.wait_for()
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                # What a trader sees first (the README's picture).
                top = {"x": 0, "y": 0, "width": 1400, "height": 1320}
                page.screenshot(path=str(tmp_path / "dashboard-top.png"), full_page=True, clip=top)
                page.click("#pause")
                _state(page, "PAUSED")
                _refreshed(page, done)
                seen["paused"] = bot.node.paused
                seen["message"] = page.locator("#control-message").inner_text()
                person.close(page)
            elif i == 1500:  # resume
                page = person.open()
                page.goto(f"{server.url}/dashboard")  # the cookie is still there: no login
                _refreshed(page)
                page.click("#resume")
                _state(page, "RUNNING")
                seen["resumed"] = bot.node.paused
                person.close(page)
            elif i == 1720:  # force exit the one position from its row, after confirming
                page = person.open()
                page.goto(f"{server.url}/dashboard")
                _refreshed(page)
                row = page.locator(f"#positions tbody tr[data-key='every_fifty|{SYMBOL}']")
                row.locator("button").click()
                dialog = page.locator("dialog#confirm")
                dialog.wait_for(state="visible")
                seen["exit_dialog"] = dialog.inner_text()
                page.click("#confirm-ok")
                _until(page, "document.getElementById('control-message').textContent"
                             ".startsWith('Force exit: ')")  # fmt: skip
                seen["exit_message"] = page.locator("#control-message").inner_text()
                person.close(page)
            elif i == 2070:  # emergency stop: cancel once, then confirm
                page = person.open()
                page.goto(f"{server.url}/dashboard")
                _refreshed(page)
                seen["held_before_stop"] = len(bot.facade.positions())
                page.click("#emergency")
                dialog = page.locator("dialog#confirm")
                dialog.wait_for(state="visible")
                seen["dialog"] = dialog.inner_text()
                page.click("#confirm-cancel")
                dialog.wait_for(state="hidden")
                seen["after_cancel"] = bot.facade.status()["halted"]
                page.click("#emergency")
                dialog.wait_for(state="visible")
                page.screenshot(path=str(tmp_path / "emergency-confirm.png"))
                page.click("#confirm-ok")
                _state(page, "HALTED")
                seen["halted"] = bot.facade.status()["halted"]
                person.close(page)

        bot.strategy.operator = operator
        bot.run()
        context.close()
    if "error" in seen:
        raise seen["error"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in ("dashboard.png", "dashboard-top.png", "emergency-confirm.png"):
        shutil.copy(tmp_path / shot, ARTIFACTS / shot)
    assert (tmp_path / "dashboard.png").stat().st_size > 100_000

    # The login: an HttpOnly, SameSite=Strict cookie the page cannot read; the token is in no
    # URL and in no storage.
    (cookie,) = seen["cookies"]
    assert cookie["name"] == "tradewind_session_ops-test"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert seen["document.cookie"] == ""
    assert seen["storage"] == [0, 0]
    assert not [u for u in person.urls if bot.tokens["trade"] in u]
    assert person.elsewhere == []
    assert person.errors == []

    # The run browser shows the stored run's report.
    assert "Backtest" in seen["report"]
    assert "sma_cross" in seen["report"]
    assert "Sharpe" in seen["report"]

    # Pause from bar 1020's close to bar 1500's: the bot was paused and the venue got no entry
    # order in that span (the strategy wanted several); entries came again after the resume.
    assert seen["paused"]
    assert seen["message"] == "Pause: paused"
    assert seen["resumed"] == ""
    entries = [ts for ts, _ in bot.entries()]
    assert [t for t in entries if t < bot.bar_close(1020)]
    assert not [t for t in entries if bot.bar_close(1020) <= t < bot.bar_close(1500)]
    assert [t for t in entries if bot.bar_close(1500) <= t < bot.bar_close(2070)]

    # The force exit from the position's row asked first, then sent one reduce-only sell at once.
    assert "Close every_fifty's long" in seen["exit_dialog"]
    assert seen["exit_message"] == "Force exit: exiting 1 position(s)"
    exits = [o for kind, ts, o in bot.port.requests
             if kind == "submit" and o.reduce_only and ts == bot.bar_close(1720)]  # fmt: skip
    assert len(exits) == 1
    assert exits[0].tag.startswith("force exit")

    # The emergency stop asked first; cancel sent nothing, confirm halted the bot, and the venue
    # holds no working order and no position of the bot's afterwards, nor any later entry.
    assert "Cancel every working order" in seen["dialog"]
    assert "halt all new entries" in seen["dialog"]
    assert seen["after_cancel"] is False
    assert seen["halted"] is True
    assert seen["held_before_stop"] == 1
    assert not [t for t in entries if t >= bot.bar_close(2070)]
    assert bot.venue._working == {}
    assert bot.venue.balance("BTC") < Decimal("0.001")
    assert bot.node.account.open_positions() == []

    # Each click is in the operator-actions log, by the token's holder, over the dashboard.
    actions = bot.facade.operator_actions(20)
    logins = [a for a in actions if a["action"] == "login"]
    assert logins
    assert {(a["actor"], a["outcome"]) for a in logins} == {("token:trade-holder", "logged in")}
    actions = [a for a in actions if a["action"] != "login"]
    assert [(a["action"], a["channel"], a["actor"]) for a in reversed(actions)] == [
        ("pause", "dashboard", "token:trade-holder"),
        ("resume", "dashboard", "token:trade-holder"),
        ("force_exit", "dashboard", "token:trade-holder"),
        ("emergency_stop", "dashboard", "token:trade-holder"),
    ]


def test_requests_without_the_cookie_or_the_csrf_token_are_refused(
    bot: Bot, browser: Browser
) -> None:
    with ThreadedServer(build_app(bot.facade)) as server:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/dashboard/login")
        page.fill("#token", bot.tokens["trade"])
        page.click("#login")
        page.wait_for_url("**/dashboard")
        _refreshed(page)
        send = """async ([path, headers]) => {
            const r = await fetch(path, {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json', ...headers},
              body: JSON.stringify({reason: 'forged'})});
            return r.status; }"""
        csrf = page.evaluate("fetch('/dashboard/session').then(r => r.json()).then(b => b.csrf)")
        # With the cookie but without the CSRF token, or with a wrong one: 403.
        assert page.evaluate(send, ["/api/v1/pause", {}]) == 403
        assert page.evaluate(send, ["/api/v1/emergency-stop", {"X-CSRF-Token": "x" * 43}]) == 403
        assert bot.node.paused == ""
        assert bot.facade.status()["halted"] is False
        # Without the cookie (a fresh browser), even with the CSRF token: 401, reads too.
        stranger = browser.new_context().new_page()
        stranger.goto(f"{server.url}/dashboard/login")
        assert stranger.evaluate(send, ["/api/v1/pause", {"X-CSRF-Token": csrf}]) == 401
        assert stranger.evaluate("fetch('/api/v1/status').then(r => r.status)") == 401
        stranger.goto(f"{server.url}/dashboard")
        assert stranger.url.endswith("/dashboard/login")  # the page itself sends you to log in
        assert bot.node.paused == ""
        # With both, the same request is done.
        assert page.evaluate(send, ["/api/v1/pause", {"X-CSRF-Token": csrf}]) == 200
        assert bot.node.paused == "forged"
        # A backtest job queued from the form: a misspelt strategy is refused by name, then the
        # right one is queued for the worker, by the token's holder.
        page.fill("#job-strategy", "sma_crss")
        page.click("#job-queue")
        _until(page, "document.getElementById('control-message').textContent.includes('refused')")
        refused = page.locator("#control-message").inner_text()
        assert "sma_crss" in refused
        assert "sma_cross" in refused  # did you mean
        page.fill("#job-strategy", "sma_cross")
        page.click("#job-queue")
        _until(page, "document.querySelectorAll('#jobs tbody tr[data-key]').length === 1")
        [queued] = bot.facade.jobs()
        assert (queued["kind"], queued["state"], queued["requested_by"]) == (
            "backtest", "queued", "token:trade-holder",
        )  # fmt: skip
        row = page.evaluate(ROWS, "jobs")[0]
        assert row["key"] == str(queued["id"])
        assert row["cells"][1:5] == ["backtest", "sma_cross", "token:trade-holder", "queued"]
        # After logging out, the old cookie is worth nothing.
        page.click("#logout")
        page.wait_for_url("**/dashboard/login")
        assert page.evaluate("fetch('/api/v1/status').then(r => r.status)") == 401
        context.close()


def test_a_tripped_breaker_shows_at_the_top_and_in_the_risk_panel(
    minutes: pd.DataFrame, browser: Browser, tmp_path: Path
) -> None:
    bot = make_bot(
        minutes, tmp_path, stop_pct=0.003,
        breakers=BreakerConfig(max_consecutive_losses=2, loss_cooldown_bars=120),
    )  # fmt: skip
    seen: dict[str, Any] = {}
    with ThreadedServer(build_app(bot.facade)) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        person = Operator(context, server.url)

        def operator(i: int, ctx: object) -> None:
            if "risk" in seen or not bot.facade.risk()["restrictions"]:
                return
            try:
                page = person.open()
                page.goto(f"{server.url}/dashboard/login")
                page.fill("#token", bot.tokens["read"])
                page.click("#login")
                page.wait_for_url("**/dashboard")
                _refreshed(page)
                seen["risk"] = _api(server.url, bot.tokens["read"], "risk")
                seen["state"] = page.locator("#state").inner_text()
                seen["risk-state"] = page.locator("#risk-state").inner_text()
                seen["restrictions"] = page.evaluate(ROWS, "restrictions")
                seen["events"] = page.evaluate(ROWS, "breaker-events")
                seen["pause-disabled"] = page.locator("#pause").is_disabled()
                seen["metrics"] = httpx.get(
                    f"{server.url}/metrics",
                    headers={"Authorization": f"Bearer {bot.tokens['read']}"},
                ).text
                page.locator("#risk").screenshot(path=str(tmp_path / "risk-panel.png"))
                person.close(page)
            except BaseException as exc:  # the strategy host would swallow it as a fault
                seen.setdefault("error", exc)

        bot.strategy.operator = operator
        bot.run()
        context.close()
    if "error" in seen:
        raise seen["error"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "risk-panel.png", ARTIFACTS / "risk-panel.png")

    risk = seen["risk"]
    assert risk["state"] != "ACTIVE"
    assert seen["state"] == f"BREAKER: {risk['state']}"
    assert seen["risk-state"] == risk["state"]
    assert [r["cells"][:2] for r in seen["restrictions"]] == [
        [r["breaker"], r["state"]] for r in risk["restrictions"]
    ]
    assert "consecutive" in seen["restrictions"][0]["cells"][0]
    newest = risk["breaker_events"][-1]
    assert seen["events"][0]["cells"][1:] == [newest["breaker"], newest["state"], newest["reason"]]
    assert seen["pause-disabled"]  # a read-only login gets no controls
    # The metric agrees (0 active, 1 paused, 2 reducing, 3 halted).
    level = {"REDUCING": 2, "HALTED": 3}[risk["state"]]
    assert f"tradewind_breaker_state {level}.0" in seen["metrics"]


def test_logins_to_two_bots_on_one_host_live_side_by_side(
    minutes: pd.DataFrame, browser: Browser, tmp_path: Path
) -> None:
    # A browser sends a host's cookies to every port of it: each bot's login needs its own name.
    bots = [make_bot(minutes, tmp_path / n, name=n) for n in ("alpha", "beta")]
    with (
        ThreadedServer(build_app(bots[0].facade)) as one,
        ThreadedServer(build_app(bots[1].facade)) as two,
    ):
        context = browser.new_context()
        pages = []
        for bot, server in zip(bots, (one, two), strict=True):
            page = context.new_page()
            page.goto(f"{server.url}/dashboard/login")
            page.fill("#token", bot.tokens["trade"])
            page.click("#login")
            page.wait_for_url("**/dashboard")
            _refreshed(page)
            pages.append(page)
        status = "fetch('/api/v1/status').then(r => r.status)"
        assert [page.evaluate(status) for page in pages] == [200, 200]
        assert [page.locator("#bot-name").inner_text() for page in pages] == ["alpha", "beta"]
        assert sorted(c["name"] for c in context.cookies()) == [
            "tradewind_session_alpha", "tradewind_session_beta",
        ]  # fmt: skip
        context.close()


def test_resuming_after_an_emergency_stop_asks_for_the_two_factor_code(
    bot: Bot, browser: Browser, tmp_path: Path
) -> None:
    import pyotp

    from tradewind.ops.facade import Actor
    from tradewind.ops.keystore import Keystore
    from tradewind.ops.secrets import Secret
    from tradewind.ops.two_factor import TwoFactor

    store = Keystore.create(tmp_path / "keys.twk", Secret("a long passphrase"))
    now = [1_800_000_000.0]
    bot.facade.two_factor = TwoFactor(store, tmp_path / "2fa.json", clock=lambda: now[0])
    totp = pyotp.parse_uri(bot.facade.two_factor.enroll("token:trade-holder").uri.reveal())
    message = "document.getElementById('control-message').textContent"
    with ThreadedServer(build_app(bot.facade)) as server:
        page = browser.new_context().new_page()
        page.goto(f"{server.url}/dashboard/login")
        page.fill("#token", bot.tokens["trade"])
        page.click("#login")
        page.wait_for_url("**/dashboard")
        _refreshed(page)
        assert page.locator("#two-factor-code").is_hidden()  # nothing to confirm yet
        bot.facade.emergency_stop(Actor("token:trade-holder", "api"), "test")
        page.reload()
        _until(page, "!document.getElementById('two-factor-code').hidden")
        page.click("#resume")  # without the code
        _until(page, f"{message}.includes('refused')")
        assert "two-factor code" in page.locator("#control-message").inner_text()
        assert bot.facade.status()["halted"] is True
        page.fill("#two-factor-code", totp.at(now[0]))
        page.click("#resume")
        _until(page, f"{message}.includes('Resume: resumed')")
        assert bot.facade.status()["halted"] is False
        _until(page, "document.getElementById('two-factor-code').hidden")
    actions = [(a["action"], a["channel"], a["outcome"].split(":")[0])
               for a in reversed(bot.facade.operator_actions(10))]  # fmt: skip
    assert actions == [("login", "dashboard", "logged in"),
                       ("emergency_stop", "api", "halted; canceled 0 order(s), flattening 0 "
                        "position(s)"), ("resume", "dashboard", "refused"),
                       ("resume", "dashboard", "resumed")]  # fmt: skip


def test_changing_a_risk_limit_from_the_dashboard_asks_for_the_two_factor_code(
    minutes: pd.DataFrame, browser: Browser, tmp_path: Path
) -> None:
    import pyotp

    from tradewind.ops.keystore import Keystore
    from tradewind.ops.secrets import Secret
    from tradewind.ops.two_factor import TwoFactor

    bot = make_bot(minutes, tmp_path, breakers=BreakerConfig())  # under the risk engine
    store = Keystore.create(tmp_path / "keys.twk", Secret("a long passphrase"))
    now = [1_800_000_000.0]
    bot.facade.two_factor = TwoFactor(store, tmp_path / "2fa.json", clock=lambda: now[0])
    totp = pyotp.parse_uri(bot.facade.two_factor.enroll("token:admin-holder").uri.reveal())
    message = "document.getElementById('control-message').textContent"
    with ThreadedServer(build_app(bot.facade)) as server:
        page = browser.new_context().new_page()
        page.goto(f"{server.url}/dashboard/login")
        page.fill("#token", bot.tokens["admin"])
        page.click("#login")
        page.wait_for_url("**/dashboard")
        _until(page, "!document.getElementById('limits-form').hidden")
        assert page.locator("#limit-code").is_visible()
        page.select_option("#limit-name", "max_positions")
        page.fill("#limit-value", "2")
        page.click("#limit-set")  # without the code
        _until(page, f"{message}.includes('refused')")
        assert "two-factor code" in page.locator("#control-message").inner_text()
        assert bot.node.gate.default.limits.max_positions is None  # type: ignore[attr-defined]
        page.fill("#limit-code", totp.at(now[0]))
        page.click("#limit-set")
        _until(page, f"{message}.includes('Risk limit: limits set: max_positions=2')")
        assert bot.node.gate.default.limits.max_positions == 2  # type: ignore[attr-defined]
        _until(page, "document.getElementById('limits-in-force').textContent"
                     ".includes('max_positions 2')")  # fmt: skip
    actions = [(a["action"], a["channel"], a["outcome"].split(":")[0])
               for a in reversed(bot.facade.operator_actions(10))]  # fmt: skip
    assert actions == [("login", "dashboard", "logged in"),
                       ("set_risk_limits", "dashboard", "refused"),
                       ("set_risk_limits", "dashboard", "limits set")]  # fmt: skip
