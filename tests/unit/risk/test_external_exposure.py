"""Positions the bot did not make (``external``, adopted by reconciliation) take room under the risk
engine's limits like its own, and are never the bot's to trade."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.intents import Intent, IntentAction
from tradewind.core.ports import EXTERNAL
from tradewind.core.timeframe import Timeframe
from tradewind.engine.account import AccountState
from tradewind.engine.portfolio import Portfolio
from tradewind.risk.config import RiskConfig, build_risk
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries

SYMBOL = "ETH/USDT"


def _setup() -> tuple[object, AccountState]:
    dates = pd.date_range("2026-01-01", periods=30, freq="1min", tz="UTC")
    frame = pd.DataFrame(
        {"date": dates, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0, "volume": 10.0}
    )
    bars = {SYMBOL: BarSeries.from_frame(frame, SYMBOL, Timeframe(60_000))}
    instruments = {
        SYMBOL: Instrument(
            symbol=SYMBOL, base="ETH", quote="USDT", price_step=Decimal("0.01"),
            amount_step=Decimal("0.0001"), maker_fee=Decimal("0.001"),
            taker_fee=Decimal("0.001"), fee_side=FeeSide.QUOTE,
        )
    }  # fmt: skip
    config = RiskConfig.model_validate(
        {
            "sizing": {"model": "fixed_fraction", "fraction": 0.5},
            "limits": {"max_asset_exposure": 0.3},
            "breakers": {"daily_loss": None, "max_drawdown": None},
        }
    )
    engine, _ = build_risk(
        config, strategy_ids={"s": "s"}, stake=Stake.parse("all"), instruments=instruments,
        bars=bars, initial_equity=10_000.0,
    )  # fmt: skip
    portfolio = Portfolio(instruments, cash={"USDT": Decimal(10_000)})
    account = AccountState(portfolio, instruments, bars, reserved={})
    account.now = int(bars[SYMBOL].close_time[-1])
    return engine, account


def _entry(engine: object, account: AccountState) -> Decimal:
    intent = Intent(strategy_id="s", symbol=SYMBOL, action=IntentAction.ENTER_LONG, ts=account.now)
    decision = engine.decide(intent, account)  # type: ignore[attr-defined]
    assert decision.approved, decision.reason
    return decision.quantity * account.last_price(SYMBOL)


def test_an_external_position_takes_room_under_the_limits() -> None:
    engine, account = _setup()
    # 30% of 10,000 for ETH: 3,000 of room with nothing held.
    alone = _entry(engine, account)
    assert alone <= Decimal(3000)
    assert alone > Decimal(2900)
    # 10 ETH made by hand (1,000 at 100), adopted: 2,000 of room left.
    account.set_external({SYMBOL: Decimal(10)})
    beside = _entry(engine, account)
    assert beside <= Decimal(2000)
    assert beside > Decimal(1900)
    assert account.external_positions() == [(EXTERNAL, SYMBOL, Decimal(10))]
    # Counted, never traded: the bot's own positions (what flatten-all and exits act on) hold
    # nothing of it, and a strategy's exit finds no position of its own.
    assert account.open_positions() == []
    exit_intent = Intent(
        strategy_id="s", symbol=SYMBOL, action=IntentAction.EXIT_LONG, ts=account.now
    )
    assert not engine.decide(exit_intent, account).approved  # type: ignore[attr-defined]
    # Closed by hand: the room is back.
    account.set_external({SYMBOL: Decimal(0)})
    assert account.external_positions() == []
    assert _entry(engine, account) == alone
