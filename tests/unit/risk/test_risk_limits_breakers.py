"""Portfolio limits and breaker state machine, by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.core.timeframe import Timeframe
from tradewind.risk.breakers import BreakerBoard, BreakerRules, BreakerState, EquityWatch
from tradewind.risk.limits import EntryRequest, OpenPosition, PortfolioLimits
from tradewind.series.bars import BarSeries
from tradewind.sim import equity_scan

D = Decimal


def _request(notional: str, **kw: object) -> EntryRequest:
    args: dict[str, object] = {
        "strategy_id": "s", "symbol": "ETH/USD", "base": "ETH", "is_long": True, "notional": D(notional),
        "price": D(100), "stop": D(95),
    }  # fmt: skip
    args.update(kw)
    return EntryRequest(**args)  # type: ignore[arg-type]


HELD = [OpenPosition("s", "BTC/USD", "BTC", D(1), D(3000), D(2900))]


def test_exposure_leverage_and_heat_reduce_to_what_fits() -> None:
    equity = D(10_000)
    # leverage 0.5x: 5,000 - 3,000 held = 2,000 of room
    result = PortfolioLimits(max_leverage=0.5).check(_request("4000"), HELD, equity)
    assert (result.notional, result.code) == (D(2000), "limit.leverage")
    # heat 2%: 200 - open risk (3000 - 2900) x 1 = 100 of room; risk per value 5/100 -> 2,000
    result = PortfolioLimits(max_heat=0.02).check(_request("4000"), HELD, equity)
    assert (result.notional, result.code) == (D(2000), "limit.heat")
    # asset cap 30% of 10,000 = 3,000 for ETH (none held)
    result = PortfolioLimits(max_asset_exposure=0.3).check(_request("4000"), HELD, equity)
    assert (result.notional, result.code) == (D(3000), "limit.asset_exposure")
    # within every limit: untouched
    assert PortfolioLimits(max_leverage=1.0).check(_request("1000"), HELD, equity).code == ""


def test_counts_correlation_liquidity_and_liquidation_deny() -> None:
    equity = D(10_000)
    assert (
        PortfolioLimits(max_positions=1).check(_request("10"), HELD, equity).code
        == "limit.max_positions"
    )
    correlated = _request("1000", correlations={"BTC/USD": 0.9})
    assert (
        PortfolioLimits(max_correlation=0.8).check(correlated, HELD, equity).code
        == "limit.correlation"
    )
    reduced = PortfolioLimits(max_correlation=0.8, correlation_action="reduce").check(
        correlated, HELD, equity
    )
    assert reduced.notional == D(500)  # scaled by 0.5
    thin = _request("10", quote_volume_24h=1e5)
    assert (
        PortfolioLimits(min_quote_volume_24h=1e6).check(thin, HELD, equity).code
        == "limit.liquidity"
    )
    # long at 100 with liquidation at 96: a stop at 95 is beyond it
    beyond = _request("10", liquidation_price=D(96))
    assert PortfolioLimits().check(beyond, HELD, equity).code == "limit.liquidation"


def test_board_states_and_lifting() -> None:
    board = BreakerBoard()
    assert board.state(0) is BreakerState.ACTIVE
    board.trip("daily_loss", BreakerState.REDUCING, 1000, ts=10, bar=1, reason="loss")
    assert board.state(999) is BreakerState.REDUCING
    board.trip("max_drawdown", BreakerState.HALTED, None, ts=20, bar=2, reason="dd")
    assert board.state(5000) is BreakerState.HALTED  # the daily one lifted, the halt stays
    board.resume(6000)
    assert board.state(6000) is BreakerState.ACTIVE
    names = [(e.breaker, e.state) for e in board.events]
    assert names == [
        ("daily_loss", BreakerState.REDUCING),
        ("max_drawdown", BreakerState.HALTED),
        ("daily_loss", BreakerState.HALTED),
        ("resume", BreakerState.ACTIVE),
    ]


def test_period_ids_are_utc_day_monday_week_and_month() -> None:
    ts = pd.to_datetime(
        ["2022-01-02 23:59", "2022-01-03 00:00", "2022-01-31 12:00", "2022-02-01 00:00"], utc=True
    )
    ids = equity_scan.period_ids(ts.as_unit("ms").asi8)
    assert list(np.diff(ids[0])) == [1, 28, 1]  # days
    assert ids[1][1] - ids[1][0] == 1  # Sunday -> Monday starts a week
    assert ids[2][3] - ids[2][2] == 1  # a new month


def test_equity_watch_finds_the_drawdown_bar(shared_data: Path) -> None:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=5000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    series = BarSeries.from_frame(frame, "BTC/USD", Timeframe(60_000))
    watch = EquityWatch(
        BreakerRules(max_drawdown=0.03), {"BTC/USD": series}, {"BTC/USD": "BTC"}, "USD", 1.0
    )
    # Hold one BTC from bar 0 with no cash: equity is the close; drawdown from its running peak.
    watch.rebalance(0, {"USD": 0.0, "BTC": 1.0})
    close = series.close
    peak = np.maximum.accumulate(np.maximum(close, 1.0))
    expected = int(np.flatnonzero(1 - close / peak >= 0.03)[0])
    found = watch.next_trip()
    assert found is not None
    assert found[1] == expected
    assert found[0] == int(series.ts[expected]) + 60_000
    assert watch.take()[0][0] == "max_drawdown"
