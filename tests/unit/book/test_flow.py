"""Trade-flow analytics on the real trade recordings, against direct computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.book.flow import (
    cumulative_volume_delta,
    footprint,
    iceberg_hints,
    large_trades,
    volume_per_bar,
)
from tradewind.book.readers.trades import (
    decode_binance_quotes_parquet,
    decode_binance_trades_parquet,
)
from tradewind.book.tape import QuoteTape, TradeTape
from tradewind.core.errors import UserError
from tradewind.core.records import Side
from tradewind.core.timeframe import Timeframe


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> TradeTape:
    return decode_binance_trades_parquet(shared_data / "trades" / "binance-btcusdt-trades.parquet")


def test_cvd_and_volume_per_bar_match_pandas(btc: TradeTape) -> None:
    frame = pd.DataFrame({"ts": btc.ts, "amount": btc.amount, "side": btc.side, "price": btc.price})
    assert np.allclose(cumulative_volume_delta(btc), (frame.side * frame.amount).cumsum())
    bars = volume_per_bar(btc, Timeframe.parse("5s"))
    frame["bar"] = frame.ts - frame.ts % 5000
    grouped = frame.groupby("bar")
    buys = grouped.apply(lambda g: g.amount[g.side == 1].sum(), include_groups=False)
    sells = grouped.apply(lambda g: g.amount[g.side == -1].sum(), include_groups=False)
    assert bars.ts.tolist() == buys.index.tolist()  # every 5 s bar of the 46 s has trades
    assert np.allclose(bars.buy, buys.to_numpy())
    assert np.allclose(bars.sell, sells.to_numpy())
    assert bars.trades.sum() == len(btc)
    assert np.allclose(bars.delta, bars.buy - bars.sell)
    vwap = grouped.apply(
        lambda g: (g.price * g.amount).sum() / g.amount.sum(), include_groups=False
    )
    assert np.allclose(bars.vwap, vwap.to_numpy())


def test_footprint_matches_pandas_groupby(btc: TradeTape) -> None:
    fp = footprint(btc, Timeframe.parse("10s"), 5.0)
    frame = pd.DataFrame({"ts": btc.ts, "amount": btc.amount, "side": btc.side, "price": btc.price})
    frame["bar"] = frame.ts - frame.ts % 10_000
    frame["bin"] = np.floor(frame.price / 5.0) * 5.0
    frame["buy"] = np.where(frame.side == 1, frame.amount, 0.0)
    frame["sell"] = np.where(frame.side == 1, 0.0, frame.amount)
    expected = frame.groupby(["bar", "bin"])[["buy", "sell"]].sum().reset_index()
    assert fp.ts.tolist() == expected.bar.tolist()
    assert fp.price.tolist() == expected.bin.tolist()
    assert np.allclose(fp.buy, expected.buy)
    assert np.allclose(fp.sell, expected.sell)
    prices, _, _ = fp.bar(int(fp.ts[0]))
    assert len(prices) == int((expected.bar == fp.ts[0]).sum())
    with pytest.raises(UserError, match="price_step"):
        footprint(btc, Timeframe.parse("10s"), 0.0)


def test_large_trades_use_only_earlier_trades(btc: TradeTape) -> None:
    result = large_trades(btc, percentile=95.0, window=200, min_history=50)
    for i in (49, 50, 120, 700, 2000):
        earlier = btc.amount[max(0, i - 200) : i]
        if i < 50:
            assert np.isnan(result.threshold[i])
            assert not result.mask[i]
            continue
        assert result.threshold[i] == pytest.approx(np.percentile(earlier, 95.0))
        assert result.mask[i] == (btc.amount[i] > np.percentile(earlier, 95.0))
    assert 0 < result.mask.sum() < len(btc) * 0.1
    truncated = large_trades(btc.head(1000), percentile=95.0, window=200, min_history=50)
    assert np.array_equal(truncated.mask, result.mask[:1000])
    with pytest.raises(UserError, match="percentile"):
        large_trades(btc, percentile=100.0)


def test_iceberg_hints_on_a_refilled_bid() -> None:
    # sellers hit a 1-lot bid at 100 five times; the quote keeps showing 1 lot at 100 (refilled)
    tape = TradeTape(
        "T",
        ts=np.array([1000, 1100, 1200, 1300, 1400, 1500], dtype=np.int64),
        price=np.array([100.0, 100.0, 100.0, 100.0, 100.0, 99.0]),
        amount=np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        side=np.array([-1, -1, -1, -1, -1, -1], dtype=np.int8),
        trade_id=np.arange(6, dtype=np.int64),
    )
    quotes = QuoteTape(
        "T",
        ts=np.array([900, 1050, 1080, 1150, 1180, 1250, 1280], dtype=np.int64),
        bid=np.full(7, 100.0),
        bid_size=np.array([1.0, 0.2, 1.0, 0.1, 1.0, 0.3, 1.0]),
        ask=np.full(7, 101.0),
        ask_size=np.ones(7),
    )
    (hint,) = iceberg_hints(tape, quotes, min_refills=2)
    assert (hint.side, hint.price, hint.fills, hint.executed, hint.displayed, hint.refills) == (
        Side.BUY, 100.0, 5, 5.0, 1.0, 3,
    )  # fmt: skip
    assert iceberg_hints(tape, quotes, min_refills=4) == []
    (weak,) = iceberg_hints(tape, None, min_refills=4)
    assert weak.refills == 4


def test_iceberg_hints_run_on_the_real_tape(btc: TradeTape, shared_data: Path) -> None:
    quotes = decode_binance_quotes_parquet(
        shared_data / "trades" / "binance-btcusdt-quotes.parquet"
    )
    for hint in iceberg_hints(btc, quotes, min_refills=1, min_executed_multiple=1.0):
        assert hint.executed > hint.displayed
        assert hint.refills >= 1
    weak = iceberg_hints(btc, None, min_refills=2)
    assert weak
    for hint in weak:
        rows = (btc.ts >= hint.start_ts) & (btc.ts <= hint.end_ts) & (btc.price == hint.price)
        assert btc.amount[rows].sum() >= hint.executed - 1e-12
