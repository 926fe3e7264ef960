"""A live session reads ordered candle sources: its orders go to the trading venue (a simulated
Binance with the bot's key, real ccxt.pro client, 300x), its bars come from that venue and a
second one that replays the same recording. The trading venue's kline stream stalls for 8 s
(its REST, order and user streams unaffected): the candles switch to the secondary without a
missing bar, the session keeps deciding and sends its orders to the trading venue, and the
candles switch back once the primary has been healthy for 3 s."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from sourcekit import BAR_MS, SYMBOL, Churn, sources_of, two_venues, wait_until

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.errors import UserError
from tradewind.data.kinds import DATE
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import Fault, FaultKind, SimClock
from tradewind.exchange_sim.accounts import Permissions
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import SessionOps
from tradewind.session.paper import SessionStatus


@pytest.mark.slow
async def test_a_live_session_trades_on_from_the_secondary_while_its_candles_stall(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: the bot's account on the trading venue only.
    clock = SimClock(speed=300.0)
    alerts: list[str] = []

    def update(status: SessionStatus) -> None:
        if status.alerts and (not alerts or status.alerts[-1] != alerts[-1]):
            alerts.append(status.alerts[-1])

    async with two_venues(shared_data, clock, latency_ms=5.0, only_eth_btc=True) as venues:
        trading = venues["binance"]
        key = trading.sim.open_account("live-sources", balances={"BTC": 1, "ETH": 20},
                                       permissions=Permissions(ip_restrict=True))  # fmt: skip
        sources = sources_of(venues, switch_back_after_s=3.0, divergence_bps=Decimal(500))
        config = LiveConfig(
            exchange=ExchangeConfig(rest_url=trading.server.rest_url, api_key=key.key,
                                    secret=key.secret, rate_limit=False, timeout_ms=15_000),
            sources=sources, strategies=[Churn()], symbols=(SYMBOL,), timeframe="5m",
            spec=BacktestSpec(account=Account(cash="1", stake="50%")), run_dir=tmp_path / "run",
            warmup_bars=30, max_bars=30, max_capital=Decimal("0.5"), confirmed=True,
            poll_s=0.05,
        )  # fmt: skip
        ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots"))),
                         "live-sources", mode="live")  # fmt: skip
        session = LiveSession(config, on_update=update, ops=ops)
        running = asyncio.create_task(session.run())

        # Act: once 8 bars are traded, the trading venue's kline stream goes silent for 8 s.
        await wait_until(lambda: session.status.bars >= 8 or running.done(), 120, "8 bars")
        assert not running.done()
        trading.server.faults.add(Fault(kind=FaultKind.WS_STALL, path="ws:ethbtc@kline_5m",
                                        delay_s=8.0))  # fmt: skip
        result = await asyncio.wait_for(running, 180)
        orders = list(trading.sim.store.all_orders(key.account, False, "ETHBTC"))

    # Assert: the candles went to the secondary and back, and every bar was traded once.
    assert result.meta["bars_traded"] == 30
    assert "candles: binance -> binance2 (silent)" in alerts, alerts
    assert "candles: binance2 -> binance (recovered)" in alerts, alerts
    recorded = read_table(tmp_path / "run", "bars")
    live = recorded[recorded["source"] == "stream"]
    from_secondary = live[live["venue"] == "binance2"]
    assert len(from_secondary) >= 1
    opens = sorted(int(t.value // 1_000_000) for t in live[DATE])
    assert all(b - a == BAR_MS for a, b in itertools.pairwise(opens)), opens
    # Orders went on through the secondary's bars: the session decided on them and sent those
    # orders to its one exchange (the bot has no account anywhere else), where they filled.
    filled = [o for o in orders if o.status == "FILLED"]
    assert len(filled) >= 20
    secondary_opens = [int(t.value // 1_000_000) for t in from_secondary[DATE]]
    first_secondary_close = min(secondary_opens) + BAR_MS
    last_secondary_close = max(secondary_opens) + BAR_MS
    during = [o for o in filled if first_secondary_close <= o.created_ms
              <= last_secondary_close + BAR_MS]  # fmt: skip
    assert during, [(o.created_ms, o.status) for o in orders]


def test_a_live_sessions_first_candle_source_is_its_trading_exchange(tmp_path: Path) -> None:
    listed = [{"name": "binance", "exchange": {"rest_url": "http://127.0.0.1:1"}},
              {"name": "binance2", "exchange": {"rest_url": "http://127.0.0.1:2"}}]  # fmt: skip
    sources = SourcesConfig.model_validate({"candles": listed})

    def live(rest_url: str) -> LiveConfig:
        return LiveConfig(
            exchange=ExchangeConfig(rest_url=rest_url, api_key="k", secret="s"),
            sources=sources, strategies=[Churn()], symbols=(SYMBOL,), timeframe="5m",
            run_dir=tmp_path / "run", max_capital=Decimal(1), confirmed=True,
        )  # fmt: skip

    # The trading exchange with its key is the first source without one: accepted.
    assert live("http://127.0.0.1:1").sources == sources
    with pytest.raises(UserError, match=r"the first of the \[\[sources\.candles\]\]"):
        live("http://127.0.0.1:2")
