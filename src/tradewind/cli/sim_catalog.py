"""List a user's catalog (``tradewind data import`` / ``data download``) on the exchange simulator.

``tradewind exchange-sim --catalog DIR`` serves the series of a catalog folder instead of the
bundled recordings. Each market is listed on the API its stored instrument says:

- spot instruments on spot (``/api/v3``), linear USDT-settled perpetuals on USDT-M
  (``/fapi/v1``); inverse and dated contracts are skipped (the simulator has no such API);
- the Binance symbol is the instrument's exchange id when it is one (``ETHBTC``), else base and
  quote joined (``ETH/BTC`` -> ``ETHBTC``);
- tick size, lot step and minimum notional (none when not stored) come from the stored
  instrument. When the stored
  prices are finer than its tick (an import that took the default tick), the prices' own decimal
  grid is used instead, and said so: rounding recorded prices to a coarser tick would change them;
- traded candles of every Binance interval are served (``klines``), mark-price candles and
  funding rates on USDT-M, public trades as aggregate trades; a market with candles trades on
  the flow derived from its shortest candles.

Skipped, each with its reason: series of another kind (book deltas), candles whose volume counts
quote units (a Binance kline counts base units), intervals Binance does not have, a symbol a
second exchange folder stores again, trades with non-numeric ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import Instrument, MarketType
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.data.meta import VolumeUnit
from tradewind.exchange_sim import Api, Listing, SimExchange
from tradewind.exchange_sim.intervals import SPOT_INTERVALS, USDM_INTERVALS

_MAX_DECIMALS = 12


@dataclass
class CatalogListing:
    """What was listed from a catalog: markets by ``api:SYMBOL``, and what was skipped and why."""

    listed: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Market:
    instrument: Instrument
    api: Api
    symbol: str
    exchange: str
    candles: dict[str, pd.DataFrame] = field(default_factory=dict)
    marks: dict[str, pd.DataFrame] = field(default_factory=dict)
    funding: pd.DataFrame | None = None
    trades: pd.DataFrame | None = None


def list_catalog(sim: SimExchange, root: Path) -> CatalogListing:
    """List every servable series of the catalog at ``root`` on ``sim``.

    Raises
    ------
    UserError
        If ``root`` is not a catalog folder, a series has no stored instrument, or nothing in it
        can be served.
    """
    if not root.is_dir():
        raise UserError(f"--catalog {root}: no such folder")
    catalog = Catalog(root)
    keys = catalog.keys()
    if not keys:
        raise UserError(f"--catalog {root}: no stored series (expected EXCHANGE/KIND/*.parquet)")
    report = CatalogListing()
    markets: dict[tuple[Api, str], _Market] = {}
    for key in keys:
        _collect(catalog, key, markets, report)
    for market in markets.values():
        _list(sim, market, report)
    if not report.listed:
        raise UserError(
            f"--catalog {root}: nothing the simulator can serve (" + "; ".join(report.skipped) + ")"
        )
    return report


def _collect(
    catalog: Catalog,
    key: SeriesKey,
    markets: dict[tuple[Api, str], _Market],
    report: CatalogListing,
) -> None:
    if key.kind is DataKind.BOOK_DELTAS:
        report.skipped.append(f"{key}: book deltas are not served")
        return
    try:
        meta = catalog.meta(key)
    except DataError as exc:
        raise UserError(f"--catalog: {exc}") from None
    inst = meta.instrument
    api = _api(inst)
    if api is None:
        report.skipped.append(f"{key}: {inst.market_type} {'linear' if inst.linear else 'inverse'} "
                              f"settled in {inst.settle_currency} has no simulated API")  # fmt: skip
        return
    symbol = _binance_symbol(inst)
    market = markets.get((api, symbol))
    if market is None:
        market = markets[(api, symbol)] = _Market(inst, api, symbol, key.exchange)
    elif market.exchange != key.exchange:
        report.skipped.append(f"{key}: {api}:{symbol} is already served from {market.exchange}")
        return
    frame = catalog.read(key)
    if frame.empty:
        report.skipped.append(f"{key}: empty")
        return
    intervals = SPOT_INTERVALS if api is Api.SPOT else USDM_INTERVALS
    if key.kind.is_candles and key.timeframe not in intervals:
        report.skipped.append(f"{key}: Binance has no {key.timeframe} interval on {api}")
        return
    if key.kind is DataKind.CANDLES:
        if meta.volume_unit is VolumeUnit.QUOTE:
            report.skipped.append(
                f"{key}: its volume counts quote units; a kline counts base units"
            )
            return
        market.candles[str(key.timeframe)] = frame
    elif key.kind is DataKind.MARK:
        if api is not Api.USDM:
            report.skipped.append(f"{key}: mark-price candles exist only on USDT-M")
            return
        market.marks[str(key.timeframe)] = frame
    elif key.kind is DataKind.FUNDING:
        if api is not Api.USDM:
            report.skipped.append(f"{key}: funding rates exist only on USDT-M")
            return
        market.funding = frame
    elif key.kind is DataKind.TRADES:
        ids = pd.to_numeric(frame["id"], errors="coerce")
        if ids.isna().any():
            report.skipped.append(f"{key}: trade ids are not all numbers")
            return
        market.trades = frame.assign(id=ids.astype("int64"))


def _api(inst: Instrument) -> Api | None:
    if inst.market_type is MarketType.SPOT:
        return Api.SPOT
    if inst.market_type is MarketType.SWAP and inst.linear and inst.settle_currency == "USDT":
        return Api.USDM
    return None


def _binance_symbol(inst: Instrument) -> str:
    candidate = inst.exchange_id.upper()
    if candidate.isalnum() and candidate == inst.exchange_id:
        return candidate
    return "".join(ch for ch in f"{inst.base}{inst.quote}".upper() if ch.isalnum())


def _list(sim: SimExchange, market: _Market, report: CatalogListing) -> None:
    inst = market.instrument
    label = f"{market.api}:{market.symbol}"
    if not (market.candles or market.trades is not None or market.funding is not None):
        return
    tick = _tick(inst, market, report, label)
    listing = Listing(
        symbol=market.symbol,
        base=inst.base,
        quote=inst.quote,
        api=market.api,
        tick_size=tick,
        step_size=inst.amount_step,
        min_qty=inst.min_amount,
        # No stored minimum means none is known: none is enforced (not Binance's 5 USDT, which
        # would be 5 BTC on a BTC-quoted pair).
        min_notional=inst.min_notional if inst.min_notional is not None else Decimal(0),
    )
    try:
        sim.add_listing(
            listing,
            klines=market.candles or None,
            mark_klines=market.marks or None,
            funding=market.funding,
            trades=market.trades,
        )
    except ValueError as exc:
        report.skipped.append(f"{label}: {exc}")
        return
    series = [f"{tf} candles" for tf in sorted(market.candles)]
    series += [f"{tf} mark" for tf in sorted(market.marks)]
    series += ["funding rates"] if market.funding is not None else []
    series += ["trades"] if market.trades is not None else []
    report.listed[label] = series


def _tick(inst: Instrument, market: _Market, report: CatalogListing, label: str) -> Decimal:
    """The instrument's tick, or the prices' own grid when they are finer than it."""
    prices = [
        frame[col].to_numpy(dtype=np.float64)
        for frame in [*market.candles.values(), *market.marks.values()]
        for col in ("open", "high", "low", "close")
    ]
    if market.trades is not None:
        prices.append(market.trades["price"].to_numpy(dtype=np.float64))
    if not prices:
        return inst.price_step
    values = np.concatenate(prices)
    values = values[np.isfinite(values)]
    if _fits(values, inst.price_step):
        return inst.price_step
    for decimals in range(_MAX_DECIMALS + 1):
        grid = Decimal(1).scaleb(-decimals)
        if _fits(values, grid):
            report.notes.append(
                f"{label}: prices are finer than the stored tick {inst.price_step}; "
                f"served on their own grid {grid}"
            )
            return grid
    return Decimal(1).scaleb(-_MAX_DECIMALS)


def _fits(values: np.ndarray, grid: Decimal) -> bool:
    step = float(grid)
    scaled = values / step
    return bool(np.all(np.abs(scaled - np.rint(scaled)) <= 1e-6))
