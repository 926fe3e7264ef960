"""The simulated exchange's state: its listings, their recorded series, its clock and faults.

One :class:`SimExchange` is shared by the HTTP handlers. It is filled before the server starts
(:meth:`SimExchange.add_listing`) and read-only afterwards, except for the fault plan and the cache of
candles aggregated on demand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradewind.venues.exchange_sim.faults import FaultPlan
from tradewind.venues.exchange_sim.intervals import (
    INTERVAL_MS,
    SPOT_INTERVALS,
    USDM_INTERVALS,
    can_aggregate,
)
from tradewind.venues.exchange_sim.listings import Api, Listing
from tradewind.venues.exchange_sim.tables import FundingTable, KlineTable, TradeTable


def wall_clock_ms() -> int:
    """Milliseconds since the epoch from the machine's clock (the default exchange clock)."""
    return time.time_ns() // 1_000_000


@dataclass(eq=False)
class ListedMarket:
    """A listing and the recorded series it serves."""

    listing: Listing
    klines: dict[str, KlineTable] = field(default_factory=dict)
    mark_klines: dict[str, KlineTable] = field(default_factory=dict)
    funding: FundingTable | None = None
    trades: TradeTable | None = None

    def candles(self, interval: str, *, mark: bool = False) -> KlineTable | None:
        """Return candles of ``interval``, aggregated from a shorter recorded interval if needed.

        The longest recorded interval that divides ``interval`` is used, so aggregation is as
        cheap and as faithful as the recordings allow. Results are cached.
        """
        tables = self.mark_klines if mark else self.klines
        if interval in tables:
            return tables[interval]
        if not can_aggregate(interval):
            return None
        target = INTERVAL_MS[interval]
        sources = [
            t
            for name, t in tables.items()
            if name in INTERVAL_MS and target % INTERVAL_MS[name] == 0 and can_aggregate(name)
        ]
        if not sources:
            return None
        source = max(sources, key=lambda t: INTERVAL_MS[t.interval])
        built = source.aggregate(interval)
        tables[interval] = built
        return built

    def mark_price_at(self, time_ms: int) -> float | None:
        """Return the open of the shortest recorded mark candle containing ``time_ms``."""
        tables = sorted(self.mark_klines.values(), key=lambda t: INTERVAL_MS.get(t.interval, 0))
        for table in tables:
            if table.interval not in INTERVAL_MS or len(table) == 0:
                continue
            i = int(np.searchsorted(table.open_ms, time_ms, side="right")) - 1
            if i >= 0 and time_ms < table.open_ms[i] + INTERVAL_MS[table.interval]:
                return float(table.open[i])
        return None


class SimExchange:
    """A Binance-like exchange made of recorded market data.

    Parameters
    ----------
    clock
        Returns the exchange's time in ms (``/api/v3/time``, ``serverTime``); the wall clock by
        default. A replay runs it at another speed (issue 9).
    faults
        The fault schedule and request log; a fresh empty plan by default.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        faults: FaultPlan | None = None,
    ) -> None:
        self.clock = clock
        self.faults = faults if faults is not None else FaultPlan()
        self._markets: dict[tuple[Api, str], ListedMarket] = {}

    def add_listing(
        self,
        listing: Listing,
        *,
        klines: Mapping[str, pd.DataFrame] | None = None,
        mark_klines: Mapping[str, pd.DataFrame] | None = None,
        funding: pd.DataFrame | None = None,
        trades: pd.DataFrame | None = None,
    ) -> ListedMarket:
        """List a market and the recorded series it serves.

        Parameters
        ----------
        listing
            The market and its filters.
        klines, mark_klines
            Candle frames by Binance interval name (``"1m"``, ``"5m"``, ``"1h"`` ...), each with
            ``date`` (open time) and ``open high low close volume``. Mark-price candles are
            USDT-M only.
        funding
            Funding events (``date`` and ``rate``, or Freqtrade's layout with the rate in
            ``open``); USDT-M only.
        trades
            Public trades, served as aggregate trades (see :class:`TradeTable`).

        Raises
        ------
        ValueError
            For an interval the listing's API does not have, a series on the wrong API, a
            malformed frame, or a symbol listed twice on one API.
        """
        key = (listing.api, listing.symbol)
        if key in self._markets:
            raise ValueError(f"{listing.symbol} is already listed on {listing.api}")
        allowed = SPOT_INTERVALS if listing.api is Api.SPOT else USDM_INTERVALS
        for interval in [*(klines or {}), *(mark_klines or {})]:
            if interval not in allowed:
                raise ValueError(f"{listing.api} has no kline interval {interval!r}")
        if listing.api is Api.SPOT and (mark_klines or funding is not None):
            raise ValueError("mark-price candles and funding rates exist only on USDT-M futures")
        market = ListedMarket(
            listing=listing,
            klines={i: KlineTable.from_frame(f, i) for i, f in (klines or {}).items()},
            mark_klines={i: KlineTable.from_frame(f, i) for i, f in (mark_klines or {}).items()},
            funding=FundingTable.from_frame(funding) if funding is not None else None,
            trades=TradeTable.from_frame(trades) if trades is not None else None,
        )
        self._markets[key] = market
        return market

    def market(self, api: Api, symbol: str) -> ListedMarket | None:
        """Return the listed market ``symbol`` on ``api``, or None."""
        return self._markets.get((api, symbol))

    def markets(self, api: Api) -> list[ListedMarket]:
        """Return every market listed on ``api``, in listing order."""
        return [m for (a, _), m in self._markets.items() if a == api]
