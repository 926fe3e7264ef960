"""The control facade through the REST API on a live session trading on the exchange simulator
(the real ccxt client, a simulator key, the API served on the session's loop), each effect checked
on the simulator's own ledger for the account, read without any client:

- after a pause, no new entry order reaches the simulator for several bars, while the strategy's
  exit still does and fills there; after a resume, entries come again;
- a force exit sells the position at once; entries stopped in the symbol send none;
- after an emergency stop, the account has no open order and the bot owns no position, and no
  order at all reaches the simulator afterwards.

- after a pause, a position's protective stop (resting on the simulator as a native stop order)
  still fires there, and no new entry order reaches the simulator for several bars;

The simulator replays the recorded XRP/ETH minutes at 120 times real speed (a bar every half
second). Every wait is on a condition with a generous deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.intents import IntentAction
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import ApiKey, Permissions
from tradewind.exchange_sim.orders import SimOrder
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.api_tokens import issue_token
from tradewind.persistence.config import DatabaseConfig
from tradewind.risk.config import RiskConfig, parse_risk
from tradewind.series.bars import BarSeries
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "XRP/ETH"
XRP = Decimal(5000)
_DEADLINE_S = 120.0
_names = itertools.count(1)
_PROTECTIVE = ("stop", "trailing_stop", "breakeven_stop")
_ATTEMPTS = 5  # pauses that may come after the tight stop already fired (see the test)


class Cycle(Strategy):
    """Enters long at a bar's close while flat and exits ``hold`` bars later."""

    name = "cycle_live"

    def __init__(self, hold: int) -> None:
        super().__init__()
        self.hold = hold
        self.entered_at: int | None = None

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if ctx.position(SYMBOL) == 0:
            self.entered_at = i
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG)
        elif self.entered_at is None or i - self.entered_at >= self.hold:
            self.entered_at = None
            ctx.emit(SYMBOL, IntentAction.EXIT_LONG)


class Live:
    """The simulator, the session with its API, and an operator's view of both."""

    def __init__(
        self, server: LoopbackServer, key: ApiKey, tmp_path: Path, hold: int,
        risk: RiskConfig | None = None, strategy: Strategy | None = None,
        app_config: AppConfig | None = None, config_path: Path | None = None, **live: Any,
    ) -> None:  # fmt: skip
        self.server = server
        self.key = key
        app_config = app_config or AppConfig(
            database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))
        )
        self.ops = SessionOps(app_config, "live-ops", serve=ServeOptions(port=0), mode="live",
                              config_path=config_path)  # fmt: skip
        spec = BacktestSpec(account=Account(cash="1", stake="50%"), risk=risk)
        config = LiveConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                    rate_limit=False, timeout_ms=15_000),
            strategies=[strategy or Cycle(hold)], symbols=(SYMBOL,), timeframe="1m", spec=spec,
            run_dir=tmp_path / "run", warmup_bars=20, max_capital=Decimal("0.5"),
            confirmed=True, poll_s=0.05, **live,
        )  # fmt: skip
        self.session = LiveSession(config, ops=self.ops)
        self.client: httpx.AsyncClient | None = None
        self.auth: dict[str, str] = {}

    async def connect(self, scopes: tuple[str, ...] = ("trade",)) -> httpx.AsyncClient:
        await until(lambda: self.ops.url is not None and self.ops.database is not None, "the API")
        assert self.ops.database is not None
        token = issue_token(self.ops.database.engine, name="operator", scopes=list(scopes))
        self.auth = {"Authorization": f"Bearer {token}"}
        self.client = httpx.AsyncClient(base_url=str(self.ops.url), timeout=30)
        return self.client

    async def post(self, path: str, **body: Any) -> dict[str, Any]:
        assert self.client is not None
        r = await self.answer(path, **body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def answer(self, path: str, **body: Any) -> httpx.Response:
        """The API's answer to an action, whatever its status (to check a refusal)."""
        assert self.client is not None
        return await self.client.post(f"/api/v1/{path}", headers=self.auth,
                                      json={"reason": "test", **body})  # fmt: skip

    async def get(self, path: str) -> Any:
        assert self.client is not None
        r = await self.client.get(f"/api/v1/{path}", headers=self.auth)
        assert r.status_code == 200, r.text
        return r.json()

    async def ledger(self) -> list[SimOrder]:
        """The account's orders on the simulator, as its own store holds them."""
        sim = self.server.sim
        return await asyncio.to_thread(
            self.server.call, lambda: list(sim.store.all_orders(self.key.account, False, "XRPETH"))
        )

    async def long(self) -> bool:
        """Whether the bot holds a position (the API's answer) after a filled buy (the venue's)."""
        ledger = await self.ledger()
        filled = [o for o in ledger if o.status == "FILLED"]
        return bool(filled and filled[-1].side == "BUY" and await self.get("positions"))

    async def until_long(self) -> None:
        deadline = time.monotonic() + _DEADLINE_S
        while not await self.long():
            assert time.monotonic() < deadline, "the bot never went long"
            await asyncio.sleep(0.05)

    async def bars_pass(self, count: int) -> None:
        """Wait until the bot's clock has moved ``count`` bars on."""
        start = (await self.get("status"))["engine_time"]
        deadline = time.monotonic() + _DEADLINE_S
        while (await self.get("status"))["engine_time"] < start + count * 60_000:
            assert time.monotonic() < deadline, f"{count} bars never passed"
            await asyncio.sleep(0.1)

    async def flat(self) -> list[Any]:
        """The bot's positions once it has booked its way flat (the venue's fill reaches the bot
        a moment after the simulator's ledger shows it); what it holds when that never happens."""
        deadline = time.monotonic() + _DEADLINE_S
        while (held := await self.get("positions")) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return list(held)

    async def until_ledger(self, test: Callable[[list[SimOrder]], bool], what: str) -> None:
        deadline = time.monotonic() + _DEADLINE_S
        while not test(await self.ledger()):
            assert time.monotonic() < deadline, f"gave up waiting for {what}"
            await asyncio.sleep(0.1)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


def _entries(ledger: list[SimOrder]) -> list[SimOrder]:
    return [o for o in ledger if o.side == "BUY"]


def _filled_sells(ledger: list[SimOrder]) -> set[str]:
    return {o.client_id for o in ledger if o.side == "SELL" and o.status == "FILLED"}


async def _operate(
    shared_data: Path,
    tmp_path: Path,
    hold: int,
    operator: Callable[[Live], Awaitable[None]],
    **live_config: Any,
) -> Live:
    """Run a live session (``live_config``: more :class:`LiveConfig` settings) on the simulator
    while ``operator`` acts on it; the session stops when the operator is done."""
    sim = SimExchange(seed=31, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:
        key = server.call(lambda: server.sim.open_account(
            f"liveops{next(_names)}", balances={"ETH": 10, "XRP": XRP},
            permissions=Permissions(ip_restrict=True)))  # fmt: skip
        live = Live(server, key, tmp_path, hold, **live_config)

        async def act() -> None:
            try:
                await operator(live)
            finally:
                if live.client is not None:
                    await live.client.aclose()
                live.session.stop("operator test done")

        task = asyncio.create_task(act())
        await live.session.run()
        await task  # raises what the operator found wrong
    return live


@pytest.mark.slow
async def test_pause_holds_entries_at_the_venue_while_exits_go_on(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect()
        await live.until_long()
        seen["paused"] = await live.post("pause")
        before = await live.ledger()
        # The strategy's exit reaches the venue and fills while paused; bars go on, no entry.
        await live.until_ledger(lambda led: _filled_sells(led) - _filled_sells(before),
                                "the exit while paused")  # fmt: skip
        await live.bars_pass(6)
        during = await live.ledger()
        seen["new_entries"] = {o.client_id for o in _entries(during)} - {
            o.client_id for o in _entries(before)
        }
        seen["positions_paused"] = await live.get("positions")
        seen["resumed"] = await live.post("resume")
        await live.until_ledger(lambda led: len(_entries(led)) > len(_entries(during)),
                                "an entry after the resume")  # fmt: skip

    live = await _operate(shared_data, tmp_path, 3, operator)
    assert seen["paused"]["outcome"] == "paused"
    assert seen["new_entries"] == set(), "an entry reached the venue while paused"
    assert seen["positions_paused"] == []  # the exit closed the position
    actions = [r["action"] for r in reversed(live.ops.facade.operator_actions(10))]  # type: ignore[union-attr]
    assert actions == ["pause", "resume"]


@pytest.mark.slow
async def test_pause_holds_entries_while_the_protective_stop_fires_on_the_venue(
    shared_data: Path, tmp_path: Path
) -> None:
    # The strategy never exits on its own (it holds for 1,000 bars): only its protective stop
    # closes the position: the native stop resting on the simulator, filled there, or (where the
    # simulator refuses a moved stop as already reached) the market exit it becomes.
    seen: dict[str, Any] = {}

    def protective(live: Live, ledger: list[SimOrder]) -> list[SimOrder]:
        driver = live.session.driver
        assert driver is not None
        orders = driver.node.orders
        return [o for o in ledger if o.side == "SELL" and o.status == "FILLED"
                and o.client_id in orders and orders[o.client_id].tag in _PROTECTIVE]  # fmt: skip

    async def operator(live: Live) -> None:
        await live.connect()
        # The trailing stop is tight: it may fire before the pause reaches the bot, which proves
        # nothing; then the bot is resumed to enter again, and paused again, until a pause finds
        # the position still held with its stop resting.
        fired: list[SimOrder] = []
        for _ in range(_ATTEMPTS):
            await live.until_long()
            seen["paused"] = await live.post("pause")
            before = await live.ledger()
            if len(protective(live, before)) == len(fired):
                break
            fired = protective(live, before)
            await live.flat()
            await live.post("resume")
        seen["stop_resting"] = [o.client_id for o in before
                                if o.type == "STOP_LOSS" and o.status == "NEW"]  # fmt: skip
        seen["fired_before_pause"] = protective(live, before)[len(fired) :]
        await live.until_ledger(lambda led: len(protective(live, led)) > len(fired),
                                "the stop while paused")  # fmt: skip
        seen["flat"] = await live.flat()
        await live.bars_pass(6)
        during = await live.ledger()
        seen["fired"] = protective(live, during)[len(fired) :]
        seen["new_entries"] = {o.client_id for o in _entries(during)} - {
            o.client_id for o in _entries(before)
        }
        await live.post("resume")
        await live.until_ledger(lambda led: len(_entries(led)) > len(_entries(during)),
                                "an entry after the resume")  # fmt: skip

    risk = parse_risk({"exits": {"stop_pct": 0.003, "trailing_pct": 0.0015}})
    live = await _operate(shared_data, tmp_path, 1000, operator, risk=risk)
    assert seen["paused"]["outcome"] == "paused"
    assert seen["fired_before_pause"] == [], "the stop fired before the pause: nothing proven"
    assert len(seen["stop_resting"]) == 1, "no native stop rested on the simulator at the pause"
    assert len(seen["fired"]) == 1  # the protective exit reached the simulator and filled
    assert seen["flat"] == []  # booked: the bot holds nothing
    assert seen["new_entries"] == set(), "an entry reached the venue while paused"
    actions = [r["action"] for r in reversed(live.ops.facade.operator_actions(20))]  # type: ignore[union-attr]
    assert actions == ["pause", "resume"] * (len(actions) // 2)
    assert len(actions) >= 2


@pytest.mark.slow
async def test_force_exit_stop_entries_and_emergency_stop_act_on_the_venue(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect()
        # Force exit while long (the strategy holds for 40 bars): a sell reaches the simulator
        # and fills, and the bot is flat.
        await live.until_long()
        sold = _filled_sells(await live.ledger())
        seen["force_exit"] = await live.post("force-exit", symbol=SYMBOL)
        await live.until_ledger(lambda led: _filled_sells(led) - sold, "the forced exit")
        seen["after_exit"] = await live.flat()
        # Entries stopped in the symbol: none reaches the simulator for six bars.
        seen["stop_entries"] = await live.post("symbols/XRP-ETH/stop-entries")
        held = {o.client_id for o in _entries(await live.ledger())}
        await live.bars_pass(6)
        seen["entries_stopped"] = {o.client_id for o in _entries(await live.ledger())} - held
        await live.post("symbols/XRP-ETH/allow-entries")
        # Long again, then the emergency stop: everything cancelled, the position flattened.
        await live.until_long()
        seen["emergency"] = await live.post("emergency-stop")
        await live.until_ledger(lambda led: all(o.status != "NEW" for o in led), "no open order")
        seen["positions"] = await live.flat()
        seen["status"] = await live.get("status")
        count = len(await live.ledger())
        await live.bars_pass(4)
        seen["orders_after"] = len(await live.ledger()) - count

    live = await _operate(shared_data, tmp_path, 40, operator)
    assert seen["after_exit"] == []
    assert seen["entries_stopped"] == set()
    assert seen["status"]["halted"] is True
    assert seen["positions"] == []
    assert seen["orders_after"] == 0
    # The bot owns no XRP it could sell: the account holds what it started with, give or take
    # less than the market's lot step of 1 XRP (what the buys' fees, paid in XRP, left unsellable).
    xrp = live.key.account.balance("XRP").total
    assert abs(xrp - XRP) < Decimal(1), xrp
    actions = [r["action"] for r in reversed(live.ops.facade.operator_actions(10))]  # type: ignore[union-attr]
    assert actions == ["force_exit", "stop_entries", "allow_entries", "emergency_stop"]


@pytest.mark.slow
async def test_force_exit_without_a_symbol_sells_every_position_on_the_venue(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    async def operator(live: Live) -> None:
        await live.connect()
        await live.until_long()  # the strategy holds for 1,000 bars: only the operator sells
        sold = _filled_sells(await live.ledger())
        seen["force_exit"] = await live.post("force-exit")
        await live.until_ledger(lambda led: _filled_sells(led) - sold, "the forced exit")
        seen["positions"] = await live.flat()

    live = await _operate(shared_data, tmp_path, 1000, operator)
    assert seen["force_exit"]["outcome"] == "exiting 1 position(s)"
    assert seen["force_exit"]["symbol"] is None
    assert seen["positions"] == []
    actions = [r["action"] for r in reversed(live.ops.facade.operator_actions(10))]  # type: ignore[union-attr]
    assert actions == ["force_exit"]
