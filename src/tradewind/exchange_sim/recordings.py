"""List the real recordings of the recorded data folder on a :class:`SimExchange`.

``tradewind/bundled/recorded`` (:mod:`tradewind.data.recorded`; see its ``SOURCES.md``) holds real
Binance market data copied from two public projects' test data. :func:`list_shared_recordings` lists
each series on the API it came from:

=============  =====  ==================================================  =====================
symbol         API    series                                              source files
=============  =====  ==================================================  =====================
ETHBTC, LTCBTC spot   5m candles, 2018-01-10 .. 2018-01-30                ``candles/*_BTC-5m``
ADABTC, XLMBTC
TRXBTC, ETCBTC
UNITTESTBTC    spot   1m candles, 2017-11-04 .. 2017-11-14 (538 gaps)     ``UNITTEST_BTC-1m``
XRPETH         spot   1m and 5m candles, aggregate trades, 2019-10-11..13 ``XRP_ETH-*``
BTCUSDT        spot   aggregate trades (46 s, 2021-01-08) and 1s candles  ``binance-btcusdt-
                      built from them                                     trades.parquet``
XRPUSDT        USDT-M 5m and 1h candles, 1h and 8h mark candles,          ``futures/XRP_USDT_
                      8h funding rates (2021-11-15 .. 2021-12-18)          USDT-*``
XRPUSDT        spot   live book only: Bybit's recorded XRPUSDT            ``orderbook/bybit-
                      ``orderbook.500`` (1 snapshot + 49 deltas, 5 s),    xrpusdt-ob500``
                      re-encoded as Binance diffs (same absolute-size
                      rule), looped
=============  =====  ==================================================  =====================

Live books (what is traded against and streamed): BTCUSDT replays its recorded best bid/ask as a
one-level book with its recorded trades merged in by time (46 s, looped); spot XRPUSDT replays the
Bybit L2 recording; every other market trades on a flow derived from its shortest candles
(:mod:`.candle_flow`). The USDT-M BTCUSDT depth files are not used: the snapshot is bid-only and
its one diff does not chain to it, so they cannot make a tradable book.

Filters follow Binance's for these markets, with tick sizes fine enough for every recorded price
(several files carry 8-decimal prices on pairs Binance quoted with 6). The BTC-perp 1-minute CSV
is not listed: its volume counts quote units and its venue is not Binance, so serving it as a
Binance kline (base volume) would misstate it.

The simulator itself never reads files; this module is the loader that tests, demos and the
``exchange-sim`` command (issue 9) share.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.book.readers.trades import decode_binance_quotes_parquet
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.listings import Api, Listing
from tradewind.exchange_sim.replay import (
    book_from_depth_stream,
    book_from_quotes,
    trades_from_arrays,
)

_BTC_PAIRS = {
    "ETH": Decimal("0.001"),
    "LTC": Decimal("0.01"),
    "ADA": Decimal("1"),
    "XLM": Decimal("1"),
    "TRX": Decimal("1"),
    "ETC": Decimal("0.01"),
}
_SAT = Decimal("0.00000001")


def shared_listings() -> dict[str, Listing]:
    """Return the listings :func:`list_shared_recordings` uses, by ``API:SYMBOL``."""
    listings = [
        Listing(
            symbol=f"{base}BTC",
            base=base,
            quote="BTC",
            tick_size=_SAT,
            step_size=step,
            min_notional=Decimal("0.0001"),
        )
        for base, step in _BTC_PAIRS.items()
    ]
    listings += [
        Listing(
            symbol="UNITTESTBTC",
            base="UNITTEST",
            quote="BTC",
            tick_size=_SAT,
            step_size=Decimal("1"),
            min_notional=Decimal("0.0001"),
        ),
        Listing(
            symbol="XRPETH",
            base="XRP",
            quote="ETH",
            tick_size=_SAT,
            step_size=Decimal("1"),
            min_notional=Decimal("0.001"),
        ),
        Listing(
            symbol="BTCUSDT",
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.000001"),
            min_notional=Decimal("5"),
        ),
        Listing(
            symbol="XRPUSDT",
            base="XRP",
            quote="USDT",
            tick_size=Decimal("0.0001"),
            step_size=Decimal("0.1"),
            min_notional=Decimal("5"),
        ),
        Listing(
            symbol="XRPUSDT",
            base="XRP",
            quote="USDT",
            api=Api.USDM,
            tick_size=Decimal("0.00001"),
            step_size=Decimal("0.1"),
            min_notional=Decimal("5"),
            onboard_ms=1578960000000,
        ),
    ]
    return {f"{listing.api}:{listing.symbol}": listing for listing in listings}


def list_shared_recordings(sim: SimExchange, root: Path) -> SimExchange:
    """List every recording of the recorded data folder ``root`` on ``sim`` and return ``sim``.

    Raises
    ------
    FileNotFoundError
        If a recording is missing from ``root``.
    """
    listings = shared_listings()
    candles, futures, trades = root / "candles", root / "futures", root / "trades"
    for base in _BTC_PAIRS:
        sim.add_listing(
            listings[f"spot:{base}BTC"],
            klines={"5m": pd.read_feather(candles / f"{base}_BTC-5m.feather")},
        )
    sim.add_listing(
        listings["spot:UNITTESTBTC"],
        klines={"1m": pd.read_feather(candles / "UNITTEST_BTC-1m.feather")},
    )
    sim.add_listing(
        listings["spot:XRPETH"],
        klines={
            "1m": pd.read_feather(candles / "XRP_ETH-1m.feather"),
            "5m": pd.read_feather(candles / "XRP_ETH-5m.feather"),
        },
        trades=pd.read_feather(trades / "XRP_ETH-trades.feather"),
    )
    _list_btcusdt(sim, root, listings["spot:BTCUSDT"])
    _list_bybit_book(sim, root, listings["spot:XRPUSDT"])
    sim.add_listing(
        listings["usdm:XRPUSDT"],
        klines={
            "5m": pd.read_feather(futures / "XRP_USDT_USDT-5m-futures.feather"),
            "1h": pd.read_feather(futures / "XRP_USDT_USDT-1h-futures.feather"),
        },
        mark_klines={
            "1h": pd.read_feather(futures / "XRP_USDT_USDT-1h-mark.feather"),
            "8h": pd.read_feather(futures / "XRP_USDT_USDT-8h-mark.feather"),
        },
        funding=pd.read_feather(futures / "XRP_USDT_USDT-8h-funding_rate.feather"),
    )
    return sim


def _list_btcusdt(sim: SimExchange, root: Path, btc: Listing) -> None:
    trades = root / "trades"
    btc_trades = pd.read_parquet(trades / "binance-btcusdt-trades.parquet")
    quotes = decode_binance_quotes_parquet(trades / "binance-btcusdt-quotes.parquet")
    trade_ms = pd.to_datetime(btc_trades["timestamp"], utc=True).dt.as_unit("ms").astype("int64")
    flow = trades_from_arrays(
        trade_ms.to_numpy(),
        btc_trades["price"].to_numpy(dtype=np.float64),
        btc_trades["quantity"].to_numpy(dtype=np.float64),
        btc_trades["buyer_maker"].astype(str).str.lower().eq("true").to_numpy(),
        btc.tick_size,
        btc.step_size,
    )
    sim.add_listing(
        btc,
        klines={"1s": candles_from_trades(btc_trades, 1_000)},
        trades=btc_trades,
        replay=book_from_quotes(
            quotes.ts, quotes.bid, quotes.bid_size, quotes.ask, quotes.ask_size,
            btc.tick_size, btc.step_size, flow,
        ),
    )  # fmt: skip


def _list_bybit_book(sim: SimExchange, root: Path, listing: Listing) -> None:
    sim.add_listing(
        listing,
        replay=book_from_depth_stream(
            decode_bybit_orderbook(root / "orderbook" / "bybit-xrpusdt-ob500.data.zip"),
            listing.tick_size,
            listing.step_size,
        ),
    )


BYBIT_LINEAR_XRPUSDT = Listing(
    symbol="XRPUSDT",
    base="XRP",
    quote="USDT",
    api=Api.USDM,
    tick_size=Decimal("0.0001"),
    step_size=Decimal("1"),
    min_notional=Decimal("5"),
    onboard_ms=1_624_406_400_000,
)
"""Bybit's linear XRPUSDT (tick 0.0001, lot 1, 5 USDT minimum value), the recorded L2's market."""


def list_bybit_recordings(sim: SimExchange, root: Path) -> SimExchange:
    """List the recordings a simulated Bybit serves on ``sim`` and return ``sim``.

    Linear XRPUSDT replays Bybit's own recorded ``orderbook.500`` natively (1 snapshot and 49
    deltas, looped; no funding rates were recorded with it, so its funding rate is 0); spot
    XRPUSDT replays the same book, and spot BTCUSDT the recorded Binance trades and quotes (the
    only recorded trades in the folder; its klines come from them).

    Raises
    ------
    FileNotFoundError
        If a recording is missing from ``root``.
    """
    listings = shared_listings()
    _list_btcusdt(sim, root, listings["spot:BTCUSDT"])
    _list_bybit_book(sim, root, listings["spot:XRPUSDT"])
    _list_bybit_book(sim, root, BYBIT_LINEAR_XRPUSDT)
    return sim


def candles_from_trades(trades: pd.DataFrame, interval_ms: int) -> pd.DataFrame:
    """Build OHLCV candles from trades as an exchange does: a candle for each interval with trades.

    ``trades`` has ``timestamp`` (datetime), ``price`` and ``quantity``. Returns ``date`` (open
    time) and ``open high low close volume`` (volume in base units).
    """
    ms = pd.to_datetime(trades["timestamp"], utc=True).dt.as_unit("ms").astype("int64")
    keys = ms.to_numpy(dtype=np.int64) // interval_ms * interval_ms
    price = trades["price"].to_numpy(dtype=np.float64)
    qty = trades["quantity"].to_numpy(dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)] - 1
    return pd.DataFrame(
        {
            "date": pd.to_datetime(keys[starts], unit="ms", utc=True),
            "open": price[starts],
            "high": np.maximum.reduceat(price, starts),
            "low": np.minimum.reduceat(price, starts),
            "close": price[ends],
            "volume": np.add.reduceat(qty, starts),
        }
    )
