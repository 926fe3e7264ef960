"""The simulated exchange's state: listings, recorded series, clock, faults, accounts and trading.

One :class:`SimExchange` is shared by the HTTP and WebSocket handlers. Listings are added before
the server starts (:meth:`SimExchange.add_listing`); every listing is tradable: it gets a live
market in the matching engine, fed by a replay source (a recorded book, or, when only candles were
recorded, a :class:`~.candle_flow.CandleFlow` derived from its shortest candles). Accounts and keys
are opened with :meth:`SimExchange.open_account`.

All trading state is touched only from the server's event loop (one thread), so it needs no
locks; the fault plan and request log are shared with the test's thread and lock themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tradewind.exchange_sim.accounts import ApiKey, KeyRing, Permissions
from tradewind.exchange_sim.candle_flow import CandleFlow
from tradewind.exchange_sim.engine import LiveMarket, MatchingEngine
from tradewind.exchange_sim.faults import FaultPlan
from tradewind.exchange_sim.intervals import (
    INTERVAL_MS,
    SPOT_INTERVALS,
    USDM_INTERVALS,
)
from tradewind.exchange_sim.limits import LimitConfig, RateLimits
from tradewind.exchange_sim.listings import Api, Listing
from tradewind.exchange_sim.orders import OrderStore
from tradewind.exchange_sim.replay import RecordedBook
from tradewind.exchange_sim.served_candles import (
    CandleServer,
    GridCandles,
    Walker,
    seeded_walker,
    trade_walker,
)
from tradewind.exchange_sim.streams import StreamHub
from tradewind.exchange_sim.tables import FundingTable, KlineTable, TradeTable
from tradewind.exchange_sim.timeline import Timeline

ReplaySource = RecordedBook | CandleFlow
FUNDING_PERIOD_MS = 28_800_000
"""USDT-M funding happens every 8 hours of replay time (00:00, 08:00, 16:00 UTC)."""


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
    replay: ReplaySource | None = None
    grid_klines: dict[str, GridCandles] = field(default_factory=dict)
    grid_marks: dict[str, GridCandles] = field(default_factory=dict)
    timeline: Timeline | None = None
    served: CandleServer | None = None
    served_marks: CandleServer | None = None

    def bounds(self) -> tuple[int, int, int] | None:
        """Return ``(start, end, align)`` of everything recorded (recording time), or None.

        ``align`` is the longest recorded interval (8 hours with funding rates, so funding
        times stay on Binance's 00/08/16 UTC grid).
        """
        spans: list[tuple[int, int]] = []
        align = 1
        for table in [*self.grid_klines.values(), *self.grid_marks.values()]:
            if len(table):
                spans.append((int(table.open_ms[0]), table.end_ms()))
                align = max(align, table.length_ms or 1)
        if self.funding is not None and len(self.funding):
            spans.append((int(self.funding.time_ms[0]), int(self.funding.time_ms[-1]) + 1))
            align = max(align, FUNDING_PERIOD_MS)
        if self.trades is not None and len(self.trades):
            spans.append((int(self.trades.time_ms[0]), int(self.trades.time_ms[-1]) + 1))
        if self.replay is not None:
            origin = self.replay.origin_ms
            spans.append((origin, origin + self.replay.period_ms))
        if not spans:
            return None
        return min(s for s, _ in spans), max(e for _, e in spans), align

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
    seed
        Seed of the candle-derived flows (same seed, same market).
    limits
        Request-weight and order-count limits (Binance's by default).
    keep_closed_orders
        Closed orders kept per account for queries (bounds memory on long runs).
    history
        How much of each recording is already past when the replay starts (0..1; see
        :mod:`.timeline`): 1 serves the whole recording as history and replays it from its start.
    anchor_ms
        Server time every recording is anchored at (:meth:`anchor`); None: the clock when the
        replay starts. Venues in separate processes that share a clock and an anchor serve the
        same bar at the same open time, so one can stand in for another that was killed.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        faults: FaultPlan | None = None,
        seed: int = 0,
        limits: LimitConfig | None = None,
        keep_closed_orders: int = 100_000,
        history: float = 1.0,
        anchor_ms: int | None = None,
    ) -> None:
        if not 0.0 <= history <= 1.0:
            raise ValueError(f"history must be within [0, 1], got {history}")
        self.history = history
        self.anchor_ms = anchor_ms
        self.clock = clock
        self.faults = faults if faults is not None else FaultPlan()
        self.seed = seed
        self._markets: dict[tuple[Api, str], ListedMarket] = {}
        self.keys = KeyRing()
        self.limits = RateLimits(limits or LimitConfig())
        self.store = OrderStore(keep_closed_orders)
        self.hub = StreamHub(self._now, lambda: self.faults, self._funding, self._served)
        self.engine = MatchingEngine(self._now, self.store, self.hub)
        self.engine.accounts = self.keys.accounts
        self.listen_keys: dict[str, ApiKey] = {}
        self.maintenance = False
        self.latency_s = 0.0
        """The venue's latency: every request and every WebSocket frame arrives this late."""
        self.held_until = 0.0
        """Monotonic time until which requests are held (a stalled venue, :mod:`.venue_chaos`)."""
        self._anchored = False

    def _now(self) -> int:
        return self.clock()

    def _served(self, futures: bool, symbol: str) -> CandleServer | None:
        market = self.market(Api.USDM if futures else Api.SPOT, symbol)
        if market is None or self.timeline(market) is None or not market.grid_klines:
            return None
        return market.served

    def _funding(self, symbol: str) -> tuple[float, int]:
        now = self.clock()
        next_ms = now - now % FUNDING_PERIOD_MS + FUNDING_PERIOD_MS
        return self.funding_rate_at(symbol, now), next_ms

    def funding_rate_at(self, symbol: str, time_ms: int) -> float:
        """Return the funding rate published at server time ``time_ms`` for the next funding.

        That is the recorded rate of the first recorded funding event after the recording time
        replayed at ``time_ms`` (see :mod:`.timeline`; past the last one, the first of the next
        pass). A symbol without recorded rates has rate 0. The rate settled at funding time ``T``
        is the one published just before it, ``funding_rate_at(symbol, T - 1)``.
        """
        market = self.market(Api.USDM, symbol)
        if market is None or market.funding is None or len(market.funding) == 0:
            return 0.0
        timeline = self.timeline(market)
        assert timeline is not None  # a market with funding rates always has one
        recorded = timeline.to_recording(time_ms)
        k = int(np.searchsorted(market.funding.time_ms, recorded, side="right"))
        return float(market.funding.rate[k % len(market.funding)])

    def open_account(
        self,
        name: str,
        *,
        balances: Mapping[str, Decimal | str | int] | None = None,
        futures_usdt: Decimal | str | int = 0,
        permissions: Permissions | None = None,
        key: str | None = None,
        secret: str | None = None,
        **fees: Any,
    ) -> ApiKey:
        """Open an account with spot ``balances`` and a USDT-M wallet; return its API key.

        ``fees`` are :class:`~.accounts.Account` fee fields (``maker_fee``, ``taker_fee``...).
        """
        return self.keys.create(
            name,
            balances={a: Decimal(str(v)) for a, v in (balances or {}).items()},
            futures_wallet=Decimal(str(futures_usdt)),
            permissions=permissions,
            key=key,
            secret=secret,
            **{k: Decimal(str(v)) for k, v in fees.items()},
        )

    def live(self, api: Api, symbol: str) -> LiveMarket | None:
        """Return the live (tradable) market of ``symbol`` on ``api``, or None."""
        return self.engine.market(api is Api.USDM, symbol)

    def replay_source(self, market: ListedMarket) -> ReplaySource | None:
        """Return the market's replay source: the recorded one, else a flow from its candles."""
        if market.replay is not None:
            return market.replay
        tables = [t for n, t in market.grid_klines.items() if n in INTERVAL_MS and len(t) > 0]
        if not tables:
            return None
        shortest = min(tables, key=lambda t: INTERVAL_MS[t.interval])
        listing = market.listing
        market.replay = CandleFlow(
            listing.symbol, shortest, listing.tick_size, listing.step_size, seed=self.seed
        )
        return market.replay

    def anchor(self, start_ms: int) -> None:
        """Put every recording on the server clock for a replay that starts at ``start_ms``.

        Called by the replay driver when it starts (each server start replays afresh), or on
        the first request of a server that does not replay.
        """
        for market in self._markets.values():
            source = self.replay_source(market)
            bounds = market.bounds()
            if bounds is None:
                market.timeline = None
                continue
            start, end, align = bounds
            tl = Timeline.anchored(start, end, align, start_ms, self.history)
            live = self.live(market.listing.api, market.listing.symbol)
            if live is not None:
                # A new replay: public trades of an earlier one lie on another timeline.
                live.replayed_ms = None
                live.recent_trades.clear()
            market.timeline = tl
            if source is not None:
                source.period_ms = tl.period_ms
            walker = self._walker(market, source)
            market.served = CandleServer(market.grid_klines, tl, walker)
            market.served_marks = CandleServer(market.grid_marks, tl, walker, mark=True)
        self._anchored = True

    def _walker(self, market: ListedMarket, source: ReplaySource | None) -> Walker:
        listing = market.listing
        default = seeded_walker(listing.symbol, self.seed, listing.step_size)
        if isinstance(source, RecordedBook) and market.trades is not None:
            # The book replays the recorded trades: a candle is made of them.
            return trade_walker(market.trades, listing.tick_size)
        if not isinstance(source, CandleFlow):
            return default
        flow = source

        def walker(table: GridCandles, k: int) -> Any:
            return flow.walk(k) if table is flow.candles else default(table, k)

        return walker

    def replayed_until(self, market: ListedMarket, now_ms: int) -> int:
        """Return the server time up to which ``market`` has been replayed (at most ``now_ms``).

        Candles are served up to here: the step due at the clock may not be applied yet, and a
        served candle is made of the trades the book showed. Without a running replay, the clock.
        """
        live = self.live(market.listing.api, market.listing.symbol)
        if live is None or live.replayed_ms is None:
            return now_ms
        return min(now_ms, live.replayed_ms)

    def timeline(self, market: ListedMarket) -> Timeline | None:
        """Return the market's timeline, anchoring every recording at "now" on first use."""
        if not self._anchored:
            self.anchor(self.clock() if self.anchor_ms is None else self.anchor_ms)
        return market.timeline

    def add_listing(
        self,
        listing: Listing,
        *,
        klines: Mapping[str, pd.DataFrame] | None = None,
        mark_klines: Mapping[str, pd.DataFrame] | None = None,
        funding: pd.DataFrame | None = None,
        trades: pd.DataFrame | None = None,
        replay: ReplaySource | None = None,
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
        replay
            The live book and trade flow (a recorded book); without one, a flow is derived from
            the shortest candles when the server starts.

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
        tick = listing.tick_size
        kline_tables = {i: KlineTable.from_frame(f, i) for i, f in (klines or {}).items()}
        mark_tables = {i: KlineTable.from_frame(f, i) for i, f in (mark_klines or {}).items()}
        market = ListedMarket(
            listing=listing,
            klines=kline_tables,
            mark_klines=mark_tables,
            grid_klines={i: GridCandles.from_table(t, tick) for i, t in kline_tables.items()},
            grid_marks={i: GridCandles.from_table(t, tick) for i, t in mark_tables.items()},
            funding=FundingTable.from_frame(funding) if funding is not None else None,
            trades=TradeTable.from_frame(trades) if trades is not None else None,
            replay=replay,
        )
        self._markets[key] = market
        self.engine.add_market(listing, listing.api is Api.USDM)
        self._anchored = False
        return market

    def all_markets(self) -> list[ListedMarket]:
        """Return every listed market, in listing order."""
        return list(self._markets.values())

    def market(self, api: Api, symbol: str) -> ListedMarket | None:
        """Return the listed market ``symbol`` on ``api``, or None."""
        return self._markets.get((api, symbol))

    def markets(self, api: Api) -> list[ListedMarket]:
        """Return every market listed on ``api``, in listing order."""
        return [m for (a, _), m in self._markets.items() if a == api]
